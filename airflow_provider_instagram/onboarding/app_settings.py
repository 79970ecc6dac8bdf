"""The Instagram app an account is connected through: read its connection, build the hook for the chain."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.exceptions import OnboardingError
from airflow_provider_instagram.hooks.instagram import InstagramHook

APP_FIX = (
    f"Create it: connection type Instagram app ({keys.APP_CONN_TYPE}), login = Instagram app id, password = app secret"
)
# Settings given directly, and where each goes in a connection: the rest are extras.
FIELDS = {"client_id": "login", "host": "host"}


def read_app_connection(app_conn_id: str) -> Any:
    """The app's connection from wherever Airflow keeps it: an environment variable, a secrets backend, or the
    metadata database (the task SDK outside a task sees only the first two; this runs on API servers and CLIs)."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models import Connection

    try:
        app = Connection.get_connection_from_secrets(app_conn_id)
    except AirflowNotFoundException:
        raise OnboardingError(
            f"There is no app connection {app_conn_id!r}. {APP_FIX}, or name the one you have (the default is "
            f"{keys.DEFAULT_APP_CONN_ID}; it used to be instagram_default)"
        ) from None
    except Exception as exc:  # no metadata database where the command runs, or a secrets backend failing
        raise OnboardingError(
            f"Cannot read the app connection {app_conn_id!r} ({type(exc).__name__}): run this where Airflow's "
            "metadata database or secrets backend is reachable"
        ) from None
    if app.conn_type not in keys.APP_CONN_TYPES:  # its password would be sent to Instagram as the app secret
        raise OnboardingError(
            f"Connection {app_conn_id!r} is of type {app.conn_type!r}, not an Instagram app: name the connection "
            f"of type {keys.APP_CONN_TYPE} that holds the app id and secret"
        )
    return app


def app_hook(conn_id: str, app: Any | None, overrides: Mapping[str, str] | None = None) -> InstagramHook:
    """A hook for the account about to be connected (no token yet): the app connection's settings, secret
    included, with ``overrides`` (``client_id``, ``host``, and extras such as ``redirect_uri``) on top."""
    from airflow.sdk import Connection

    own = keys.parse_extras(app.extra, app.conn_id) if app is not None else {}
    extra = {k: v for k, v in own.items() if k != keys.APP_CONN_ID}
    if app is not None and (secret := keys.app_secret(app)):
        extra[keys.CLIENT_SECRET] = secret
    fields = {"login": getattr(app, "login", None), "host": getattr(app, "host", None)}
    for key, value in (overrides or {}).items():
        if value and key in FIELDS:
            fields[FIELDS[key]] = value
        elif value:
            extra[key] = value
    conn = Connection(conn_id=conn_id, conn_type=keys.CONN_TYPE, extra=json.dumps(extra), **fields)
    return InstagramHook(instagram_conn_id=conn_id, connection=conn)
