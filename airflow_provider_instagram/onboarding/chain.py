"""One account's authorization chain: code -> short-lived token -> long-lived token -> profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.account.record import AccountRecord, fingerprint
from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.exceptions import AuthorizationDeniedError, OnboardingError
from airflow_provider_instagram.hooks.instagram import InstagramHook


@dataclass(frozen=True)
class Redirect:
    """What came back on the redirect URI: a code, or Instagram's error, and the ``state``.

    :param code: the authorization code (``#_`` stripped), if the user allowed the app.
    :param state: the ``state`` echoed back.
    :param error: Instagram's ``error`` (``access_denied`` when the user clicked Deny).
    :param error_reason: Instagram's ``error_reason``.
    :param error_description: Instagram's ``error_description``.
    """

    code: str | None = field(repr=False)
    state: str | None
    error: str | None = None
    error_reason: str | None = None
    error_description: str | None = None

    @classmethod
    def parse(cls, text: str) -> Redirect:
        """A pasted redirect URL (``https://.../callback?code=...&state=...#_``) or a bare code."""
        text = text.strip()
        if "?" not in text and "=" not in text:
            return cls(code=text.removesuffix("#_") or None, state=None)
        return cls.of_query({k: v[0] for k, v in parse_qs(urlsplit(text).query).items()})

    @classmethod
    def of_query(cls, query: Mapping[str, str]) -> Redirect:
        code = (query.get("code") or "").strip().removesuffix("#_") or None
        return cls(
            code=code, state=query.get("state") or None, error=query.get("error") or None,
            error_reason=query.get("error_reason") or None, error_description=query.get("error_description") or None,
        )  # fmt: skip

    def require_code(self) -> str:
        """The code, or the error that says why there is none."""
        if self.error:
            reason = self.error_description or self.error_reason or self.error
            if self.error == "access_denied":
                raise AuthorizationDeniedError(f"The user did not authorize the app ({reason}); nothing was saved")
            raise OnboardingError(f"Instagram answered the authorization with {self.error}: {reason}")
        if not self.code:
            raise OnboardingError("The redirect carries no code: paste the whole URL the browser landed on")
        return self.code


@dataclass(frozen=True)
class ConnectedAccount:
    """An account just connected: its long-lived token and who it is. ``repr`` never shows the token.

    :param conn_id: the connection to save it in.
    :param token: the long-lived token.
    :param user_id: the app-scoped id (``/me`` ``id``): the id of the account's data and of Meta's callbacks.
    :param professional_account_id: the professional account's Instagram id (Instagram Login only).
    :param username: the Instagram username.
    :param expires_at: the token's expiry (UTC).
    :param connected_at: when the chain ran (UTC).
    :param permissions: what the user granted, where Instagram said it.
    :param short_lived_fingerprint: the fingerprint of the 1-hour token the chain exchanged (for the demo's story).
    """

    conn_id: str
    token: str = field(repr=False)
    user_id: str
    professional_account_id: str | None
    username: str
    expires_at: datetime | None
    connected_at: datetime
    permissions: tuple[str, ...] = ()
    short_lived_fingerprint: str | None = None

    @property
    def record(self) -> AccountRecord:
        """The connection's record: ids, a fresh ``ok`` status (a reconnect clears ``reauth_required``)."""
        return AccountRecord(
            conn_id=self.conn_id, user_id=self.user_id, professional_account_id=self.professional_account_id,
            username=self.username, expires_at=self.expires_at, refreshed_at=self.connected_at,
            connected_at=self.connected_at, status="ok", fingerprint=fingerprint(self.token),
        )  # fmt: skip


def connect_account(hook: InstagramHook, conn_id: str, code: str, clock: Clock = utcnow) -> ConnectedAccount:
    """Run the chain with ``hook`` (the app's settings) for the code the redirect brought back.

    Everyone who connects an account calls this: the command line, the plugin, the demo.

    :param clock: Instagram's idea of now (the demo plays an account connected days ago on the emulator's clock).
    :raises InstagramError: a step failed (an expired or used code, a wrong secret...); nothing is saved.
    """
    short = hook.exchange_code(code)
    long_lived = hook.exchange_for_long_lived_token(short.access_token)
    fields = ["id", "user_id", "username"] if hook.params.api == "instagram_login" else ["id", "username"]
    profile = hook.get_profile(fields, token=long_lived.access_token)
    if not (profile.get("id") or short.user_id) or not profile.get("username"):
        raise OnboardingError("Instagram's profile answer has no user id or username; nothing was saved")
    user_id = checked_id(profile.get("id") or short.user_id, "Instagram's user id")
    professional = profile.get("user_id") if hook.params.api == "instagram_login" else None
    now = clock()
    return ConnectedAccount(
        conn_id=conn_id, token=long_lived.access_token, user_id=user_id,
        professional_account_id=checked_id(professional, "Instagram's professional account id") if professional
        else None,
        username=str(profile["username"]),
        expires_at=now + timedelta(seconds=long_lived.expires_in) if long_lived.expires_in else None,
        connected_at=now, permissions=short.permissions, short_lived_fingerprint=fingerprint(short.access_token),
    )  # fmt: skip
