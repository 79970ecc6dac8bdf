"""The ``state`` of an authorization window opened from Airflow: signed, expiring, single-use, and bound to
one connection and one Airflow user, so that a redirect can only complete the flow that user started."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import jwt

from airflow_provider_instagram.exceptions import OnboardingStateError

AUDIENCE = "airflow-provider-instagram:onboarding"
FORM_AUDIENCE = "airflow-provider-instagram:onboarding-form"
FORM_TTL_SECONDS = 3600
DEFAULT_TTL_SECONDS = 900  # Instagram's code lives an hour; nobody needs a quarter of that to click Allow


@dataclass(frozen=True)
class OnboardingClaims:
    """What a valid ``state`` says: who started connecting which account, and until when it may finish.

    :param conn_id: the connection to save the account in.
    :param app_conn_id: the connection with the Instagram app.
    :param user: the Airflow user id that started the flow.
    :param nonce: makes the state single-use.
    :param expires_at: Unix time after which the state is refused.
    """

    conn_id: str
    app_conn_id: str
    user: str
    nonce: str
    expires_at: int


class NonceLedger(Protocol):
    """Remembers used nonces until they expire; ``claim`` is true exactly once per nonce, across processes."""

    def claim(self, nonce: str, expires_at: int) -> bool: ...


def derive_key(secret: str) -> bytes:
    """A key of its own for states, derived from a deployment secret (Airflow's ``[api] secret_key``)."""
    if not secret:
        raise ValueError("no secret to sign onboarding states with: set [api] secret_key")
    return hmac.new(secret.encode(), b"airflow-provider-instagram onboarding state", hashlib.sha256).digest()


class StateSigner:
    """Issues and checks states (HS256 JWTs: a well-kept format with expiry and audience built in).

    :param key: the signing key (see :func:`derive_key`).
    :param ttl: seconds a state stays valid.
    :param clock: Unix time now (tests move it).
    """

    def __init__(self, key: bytes, *, ttl: int = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self.ttl = ttl
        self._clock = clock

    def issue(self, conn_id: str, app_conn_id: str, user: str) -> str:
        """A new state for ``user`` connecting ``conn_id`` through the app ``app_conn_id``."""
        now = int(self._clock())
        claims = {
            "aud": AUDIENCE, "exp": now + self.ttl, "sub": user, "conn": conn_id, "app": app_conn_id,
            "nonce": secrets.token_urlsafe(16),
        }  # fmt: skip
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, state: str, user: str, ledger: NonceLedger) -> OnboardingClaims:
        """The claims of a state this deployment issued to ``user``, unexpired and never used before."""
        try:
            raw = jwt.decode(
                state, self._key, algorithms=["HS256"], audience=AUDIENCE, leeway=0,
                options={"require": ["exp", "aud", "sub", "nonce"], "verify_exp": False},
            )  # fmt: skip
        except jwt.InvalidTokenError as exc:
            raise OnboardingStateError("The sign-in link is not valid (forged or damaged): start again") from exc
        claims = OnboardingClaims(str(raw.get("conn", "")), str(raw.get("app", "")), str(raw["sub"]),
                                  str(raw["nonce"]), int(raw["exp"]))  # fmt: skip
        if claims.expires_at < self._clock():
            raise OnboardingStateError("The sign-in link expired: start connecting the account again")
        if not hmac.compare_digest(claims.user, user):
            raise OnboardingStateError("This sign-in was started by another Airflow user: start it yourself")
        if not claims.conn_id or not ledger.claim(claims.nonce, claims.expires_at):
            raise OnboardingStateError("This sign-in link was already used: start connecting the account again")
        return claims

    def form_token(self, user: str) -> str:
        """A token for the start page's form: starting a flow needs a page this deployment served to ``user``,
        so that a link elsewhere cannot start one in a logged-in user's browser."""
        claims = {"aud": FORM_AUDIENCE, "exp": int(self._clock()) + FORM_TTL_SECONDS, "sub": user}
        return jwt.encode(claims, self._key, algorithm="HS256")

    def check_form_token(self, token: str, user: str) -> None:
        """Raise ``OnboardingStateError`` unless this deployment issued ``token`` to ``user`` within the hour."""
        try:
            raw = jwt.decode(token, self._key, algorithms=["HS256"], audience=FORM_AUDIENCE,
                             options={"require": ["exp", "aud", "sub"], "verify_exp": False})  # fmt: skip
        except jwt.InvalidTokenError as exc:
            raise OnboardingStateError("This form was not served by this Airflow: open the start page again") from exc
        if int(raw["exp"]) < self._clock() or not hmac.compare_digest(str(raw["sub"]), user):
            raise OnboardingStateError("This form expired or belongs to another user: open the start page again")
