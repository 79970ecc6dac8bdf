"""The ``instagram_app`` connection: the Instagram app (id, secret, redirect URI) that accounts are connected
through. It talks to nobody: Instagram has no call that checks an app without a user, so its Test checks the
fields themselves."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.exceptions import InstagramConfigError
from airflow_provider_instagram.hooks.connection import build_params

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class InstagramAppHook(BaseHook):
    """The Instagram app that onboarding, Meta's callbacks and every account naming it (extra ``app_conn_id``) use.

    :param instagram_app_conn_id: the ``instagram_app`` connection: login = Instagram app id, password = app
        secret, extra ``redirect_uri`` = the OAuth redirect URI registered in the Meta app dashboard.
    """

    conn_name_attr = "instagram_app_conn_id"
    default_conn_name = keys.DEFAULT_APP_CONN_ID
    conn_type = keys.APP_CONN_TYPE
    hook_name = "Instagram app"

    def __init__(self, instagram_app_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instagram_app_conn_id = instagram_app_conn_id

    def get_conn(self) -> Any:
        """The app's connection."""
        return self.get_connection(self.instagram_app_conn_id)

    def test_connection(self) -> tuple[bool, str]:
        """``(True, summary)`` when the app id, the secret and the redirect URI are usable, else ``(False, fix)``."""
        try:
            return True, check_app_connection(self.get_conn())
        except InstagramConfigError as exc:
            return False, str(exc)


def check_app_connection(app: Any) -> str:
    """A one-line summary of a usable app connection (never its secret).

    :raises InstagramConfigError: a field is missing or malformed; the message names the field and the fix.
    """
    name = f"App connection {app.conn_id!r}"
    if not str(app.login or "").strip().isdigit():
        raise InstagramConfigError(
            f"{name} has no Instagram app id: put the numeric app id (Meta app dashboard > Instagram > API setup "
            "with Instagram login) in the login field"
        )
    if not keys.app_secret(app):
        raise InstagramConfigError(f"{name} has no app secret: put the Instagram app secret in the password field")
    params = build_params(app, None)  # URLs, API flavour and version checked as the hook checks them
    redirect = params.redirect_uri
    if redirect:
        parts = urlsplit(redirect)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            raise InstagramConfigError(
                f"{name}: extra 'redirect_uri' is {redirect!r}; Meta accepts only https redirect URIs (http only "
                "on localhost): use the URL the Instagram page in Airflow shows"
            )
    where = redirect or "the Instagram page's callback (no redirect_uri set)"
    return f"Instagram app {params.client_id} ({params.api}); redirect URI: {where}"
