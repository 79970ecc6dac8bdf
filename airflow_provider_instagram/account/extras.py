"""The two connection types and their extras: every key, and the one parser that reads them.

An ``instagram`` connection is an **account** (its password is the account's long-lived token). An
``instagram_app`` connection is an **app** (login = Instagram app id, password = app secret, extra
``redirect_uri``), which accounts name in their extra ``app_conn_id``. App connections made before the app had
its own type are of type ``instagram`` and keep working. Both are read by :func:`parse_extras`, the only reader
of their extra text in this package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_instagram.account.ids import PROFESSIONAL_ACCOUNT_ID, USER_ID
from airflow_provider_instagram.exceptions import InstagramConfigError

CONN_TYPE = "instagram"
APP_CONN_TYPE = "instagram_app"
APP_CONN_TYPES = (APP_CONN_TYPE, CONN_TYPE)  # an app connection made before it had its own type is an instagram one
# Where onboarding and Meta's callbacks look for the Instagram app when none is named. Not the hook's default
# connection (``instagram_default``, an account): an account saved over its app connection would overwrite the
# app secret.
DEFAULT_APP_CONN_ID = "instagram_app"
# Connections made through Airflow 2's form kept their extras under these prefixes.
LEGACY_PREFIXES = ("extra__instagram__", "extra__instagram_app__")

# --- the Instagram app (on an account connection, or on the app connection it names)
APP_CONN_ID = "app_conn_id"
CLIENT_SECRET = "client_secret"
REDIRECT_URI = "redirect_uri"
API = "api"
API_VERSION = "api_version"
OAUTH_URL = "oauth_url"
AUTHORIZE_URL = "authorize_url"
TIMEOUT = "timeout"
APP_KEYS = (CLIENT_SECRET, REDIRECT_URI, API, API_VERSION, OAUTH_URL, AUTHORIZE_URL, TIMEOUT)

# --- the account: who it is (see account/ids.py for the two ids) ---------------------------------------------
USERNAME = "username"
# Written by onboarding before the ids were unified: the app-scoped id, while ``user_id`` then held the
# professional account's id. Read (and folded into the two keys above) on read; never written again.
LEGACY_APP_USER_ID = "app_user_id"

# --- the token's lifecycle (never the token itself) ------------------------------------------------------------
# None of these contains "token", "secret" or "password": Airflow masks every extra whose key contains a sensitive
# word, which would hide them in the UI and the REST API and turn a status such as "ok" into a masked secret.
EXPIRES_AT = "expires_at"
REFRESHED_AT = "refreshed_at"
CONNECTED_AT = "connected_at"  # when a human last connected the account (refreshes leave it alone)
STATUS = "status"
STATUS_REASON = "status_reason"
FINGERPRINT = "fingerprint"
DELETION_REQUESTED_AT = "deletion_requested_at"  # Meta's data-deletion callback named this account
AUTO_REFRESH = "auto_refresh"

ACCOUNT_KEYS = (
    USER_ID, PROFESSIONAL_ACCOUNT_ID, USERNAME, EXPIRES_AT, REFRESHED_AT, CONNECTED_AT, STATUS, STATUS_REASON,
    FINGERPRINT, DELETION_REQUESTED_AT,
)  # fmt: skip
"""The keys an account's record owns (:class:`~airflow_provider_instagram.account.record.AccountRecord`)."""


def parse_extras(raw: str | Mapping[str, Any] | None, conn_id: str) -> dict[str, Any]:
    """An ``instagram`` connection's extras as a dict, the legacy ``extra__instagram__`` (or
    ``extra__instagram_app__``) prefix removed.

    Unlike ``extra_dejson`` it masks nothing: in a task that is one round trip to the supervisor fewer, for extras
    the SDK already masked while reading the connection.

    :param raw: the extra as stored (JSON text), or a mapping already decoded; empty means no extras.
    :param conn_id: the connection, named in errors.
    :raises InstagramConfigError: the extra is not JSON, or not a JSON object.
    """
    if raw is None or raw == "":
        return {}
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise InstagramConfigError(
                f"Connection {conn_id!r}: its extra is not valid JSON ({exc.args[0] if exc.args else exc}); "
                'write it as a JSON object, e.g. {"app_conn_id": "instagram_app"}'
            ) from None
    if not isinstance(value, Mapping):
        raise InstagramConfigError(
            f"Connection {conn_id!r}: its extra is a JSON {type(value).__name__}, not an object; write it as a "
            'JSON object of named fields, e.g. {"app_conn_id": "instagram_app"}'
        )
    return {_unprefixed(str(k)): v for k, v in value.items()}


def _unprefixed(key: str) -> str:
    for prefix in LEGACY_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def text_field(extras: Mapping[str, Any], key: str, conn_id: str) -> str | None:
    """Extra ``key`` as text (numbers accepted), ``None`` when absent or empty; anything else is an error."""
    value = extras.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InstagramConfigError(
            f"Connection {conn_id!r}: extra {key!r} is a {type(value).__name__} ({value!r:.60}); it must be text. "
            f"Fix or remove extra {key!r}"
        )
    return str(value)


def flag_field(extras: Mapping[str, Any], key: str, conn_id: str, default: bool = True) -> bool:
    """Extra ``key`` as a yes/no (``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off``)."""
    value = extras.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise InstagramConfigError(f"Connection {conn_id!r}: extra {key!r} is {value!r}; set it to true or false")


def app_secret(app_conn: Any) -> str | None:
    """An app connection's secret: its extra ``client_secret``, else its password (the one rule for both)."""
    own = text_field(parse_extras(app_conn.extra, app_conn.conn_id), CLIENT_SECRET, app_conn.conn_id)
    return own or app_conn.password or None
