"""One account's authorization chain: code -> short-lived token -> long-lived token -> profile."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_instagram.exceptions import AuthorizationDeniedError, OnboardingError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.tokens.state import TokenState, fingerprint, format_time, merge_extra

# The app-scoped user id that Meta's deauthorize and data-deletion callbacks name (``/me`` ``id``); for the
# Instagram Login API it differs from ``user_id``, the professional account's id that media are filed under.
APP_USER_ID = "app_user_id"
# When a human last connected the account (refreshes do not change it): Meta's callbacks issued before then are
# about an authorization that no longer exists.
CONNECTED_AT = "connected_at"


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
    :param user_id: the Instagram user id (media are exported under it).
    :param username: the Instagram username.
    :param app_user_id: the app-scoped id Meta's callbacks name, where it differs from ``user_id``.
    :param expires_at: the token's expiry (UTC).
    :param connected_at: when the chain ran (UTC).
    :param permissions: what the user granted, where Instagram said it.
    """

    conn_id: str
    token: str = field(repr=False)
    user_id: str
    username: str
    app_user_id: str | None
    expires_at: datetime | None
    connected_at: datetime
    permissions: tuple[str, ...] = ()

    @property
    def state(self) -> TokenState:
        return TokenState(
            conn_id=self.conn_id, expires_at=self.expires_at, refreshed_at=self.connected_at, status="ok",
            fingerprint=fingerprint(self.token), user_id=self.user_id, username=self.username,
        )  # fmt: skip

    def extra(self, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``current`` extras with this account's lifecycle fields (a reconnect clears ``reauth_required``)."""
        merged = merge_extra(current, self.state)
        merged[CONNECTED_AT] = format_time(self.connected_at)
        merged.pop(APP_USER_ID, None)
        if self.app_user_id and self.app_user_id != self.user_id:
            merged[APP_USER_ID] = self.app_user_id
        return merged

    def extra_json(self, current: Mapping[str, Any] | None = None) -> str:
        return json.dumps(self.extra(current))


def connect_account(hook: InstagramHook, conn_id: str, code: str) -> ConnectedAccount:
    """Run the chain with ``hook`` (the app's settings) for the code the redirect brought back.

    :raises InstagramError: a step failed (an expired or used code, a wrong secret...); nothing is saved.
    """
    short = hook.exchange_code(code)
    long_lived = hook.exchange_for_long_lived_token(short.access_token)
    fields = ["id", "user_id", "username"] if hook.params.api == "instagram_login" else ["id", "username"]
    profile = hook.get_profile(fields, token=long_lived.access_token)
    user_id = str(profile.get("user_id") or profile.get("id") or short.user_id or "")
    if not user_id or not profile.get("username"):
        raise OnboardingError("Instagram's profile answer has no user id or username; nothing was saved")
    app_user_id = str(profile.get("id") or short.user_id or "") or None
    return ConnectedAccount(
        conn_id=conn_id, token=long_lived.access_token, user_id=user_id, username=str(profile["username"]),
        app_user_id=app_user_id, expires_at=long_lived.expires_at, connected_at=datetime.now(UTC),
        permissions=short.permissions,
    )  # fmt: skip
