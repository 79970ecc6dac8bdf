"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point.

Kept free of imports from the rest of the package so that Airflow can list the provider
(and render the connection form) without importing the hook.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_instagram import __version__
from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.extras import APP_CONN_TYPE, CONN_TYPE
from airflow_provider_instagram.account.ids import PROFESSIONAL_ACCOUNT_ID, USER_ID
from airflow_provider_instagram.account.record import STATUSES
from airflow_provider_instagram.hooks.connection import (
    AUTHORIZE_URLS,
    DEFAULT_API_VERSION,
    DEFAULT_GRAPH_URL,
    DEFAULT_OAUTH_URL,
)

HOOK_CLASS = "airflow_provider_instagram.hooks.instagram.InstagramHook"
APP_HOOK_CLASS = "airflow_provider_instagram.hooks.app.InstagramAppHook"


def _string(label: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": ["string", "null"], **schema}}


CONN_FIELDS: dict[str, dict[str, Any]] = {
    keys.CLIENT_SECRET: _string(
        "App secret",
        "Instagram app secret (client_secret). Leave empty when App connection id is set.",
        format="password",
    ),
    keys.REDIRECT_URI: _string("Redirect URI", "OAuth redirect URI registered in the Meta app dashboard."),
    keys.APP_CONN_ID: _string(
        "App connection id",
        "Connection holding the app id, secret and redirect URI shared by many accounts.",
    ),
    keys.API: _string(
        "API flavour",
        "instagram_login (default) or basic_display (retired in 2024).",
        enum=["instagram_login", "basic_display", None],
        default="instagram_login",
    ),
    keys.API_VERSION: _string(
        "Graph API version",
        "Version path prefix such as v25.0; empty for unversioned paths.",
    ),
    keys.OAUTH_URL: _string(
        "OAuth base URL",
        "The api.instagram.com host used for the code exchange (point it at the emulator or a proxy).",
    ),
    keys.AUTHORIZE_URL: _string("Authorization window URL", "The URL of the consent page users are sent to."),
    keys.TIMEOUT: {
        "label": "Timeout (seconds)",
        "description": "Per-request timeout.",
        "schema": {"type": ["number", "null"], "default": 30},
    },
}

# The account's record (account/record.py): written by onboarding, the token refresh and Meta's callbacks. Without
# these entries the edit form showed each key as an unlabeled box; in a section of their own, they say who writes them.
RECORD_SECTION = "Account record (written by the provider)"
WRITTEN_BY_PROVIDER = "Set by onboarding and the token refresh; do not edit."


def _record(label: str, meaning: str, **schema: Any) -> dict[str, Any]:
    return _string(label, f"{meaning}. {WRITTEN_BY_PROVIDER}", section=RECORD_SECTION, **schema)


RECORD_FIELDS: dict[str, dict[str, Any]] = {
    USER_ID: _record("Instagram user id", "The account's app-scoped id: its data is filed under it everywhere"),
    PROFESSIONAL_ACCOUNT_ID: _record("Professional account id", "The professional account's id, kept for reference"),
    keys.USERNAME: _record("Username", "The Instagram username"),
    keys.STATUS: _record("Token status", "ok, reauth_required or revoked", enum=[*STATUSES, None]),
    keys.STATUS_REASON: _record("Status reason", "Why the token needs a human, in words"),
    keys.EXPIRES_AT: _record("Token expires at", "When the token expires (ISO 8601, UTC)"),
    keys.REFRESHED_AT: _record("Token refreshed at", "When the token was last refreshed (ISO 8601, UTC)"),
    keys.CONNECTED_AT: _record("Connected at", "When a human last connected the account (ISO 8601, UTC)"),
    keys.FINGERPRINT: _record("Token fingerprint", "SHA-256 prefix of the token this record describes"),
    keys.DELETION_REQUESTED_AT: _record(
        "Data deletion requested at", "When Meta's data-deletion callback named the account (ISO 8601, UTC)"
    ),
    keys.AUTO_REFRESH: {  # the one key of the record a human sets: in the form's main section
        "label": "Refresh automatically",
        "description": "Off: the instagram_token_refresh DAG leaves this account's token alone.",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
}

# The app connection's own form: the secret is its password, so no client_secret box; no app_conn_id either.
APP_CONN_FIELDS: dict[str, dict[str, Any]] = {
    key: value for key, value in CONN_FIELDS.items() if key not in (keys.CLIENT_SECRET, keys.APP_CONN_ID)
}
APP_CONN_FIELDS[keys.REDIRECT_URI] = _string(
    "Redirect URI",
    "The OAuth redirect URI registered in the Meta app dashboard: the one the Instagram page in Airflow shows "
    "(empty: that page's own).",
)

# What both connection forms share: the fields they hide, and Instagram's own URLs and version as placeholders.
HIDDEN_FIELDS = ["schema", "port", "extra"]
SERVICE_PLACEHOLDERS = {
    "host": DEFAULT_GRAPH_URL,
    "api_version": DEFAULT_API_VERSION,
    "oauth_url": DEFAULT_OAUTH_URL,
    "authorize_url": AUTHORIZE_URLS["instagram_login"],
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": HIDDEN_FIELDS,
    "relabeling": {
        "host": "Graph API base URL",
        "login": "Instagram app id (client_id)",
        "password": "Long-lived access token",
    },
    "placeholders": {
        **SERVICE_PLACEHOLDERS,
        "login": "Instagram app id, or empty when App connection id is set",
        "password": "Filled in by onboarding; refreshed daily by the instagram_token_refresh DAG",
    },
}

APP_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": HIDDEN_FIELDS,
    "relabeling": {"host": "Graph API base URL", "login": "Instagram app id", "password": "App secret"},
    "placeholders": {
        **SERVICE_PLACEHOLDERS,
        "login": "Meta app dashboard > Instagram > API setup with Instagram login: Instagram app ID",
        "password": "Instagram app secret, from the same page",
        "redirect_uri": "https://airflow.example.com/instagram/oauth/callback",
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider-info dictionary Airflow validates against ``provider_info.schema.json``."""
    return {
        "package-name": "airflow-provider-instagram",
        "name": "Instagram",
        "description": "Instagram media and profiles on a schedule, with the token lifecycle handled.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Instagram",
                "external-doc-url": "https://developers.facebook.com/docs/instagram-platform",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Instagram",
                "python-modules": [
                    "airflow_provider_instagram.hooks.instagram",
                    "airflow_provider_instagram.hooks.app",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "Instagram",
                "python-modules": [
                    "airflow_provider_instagram.operators.media",
                    "airflow_provider_instagram.operators.warehouse",
                    "airflow_provider_instagram.operators.insights_warehouse",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": HOOK_CLASS,
                "hook-name": "Instagram",
                "conn-fields": {**CONN_FIELDS, **RECORD_FIELDS},
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            },
            {
                "connection-type": APP_CONN_TYPE,
                "hook-class-name": APP_HOOK_CLASS,
                "hook-name": "Instagram app",
                "conn-fields": APP_CONN_FIELDS,
                "ui-field-behaviour": APP_UI_FIELD_BEHAVIOUR,
            },
        ],
    }
