"""The Instagram page's Test button: one call to Instagram with the account's stored token, answered in words
that name the account's connection."""

from __future__ import annotations

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.exceptions import InstagramError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.hooks.transport import RetryPolicy
from airflow_provider_instagram.onboarding.app_settings import read_app_connection
from airflow_provider_instagram.plugin import airflow_side

# A person waits for the answer: retry a hiccup once, never wait out a rate limit.
BUTTON_RETRIES = RetryPolicy(max_attempts=2, max_wait=2.0, total_timeout=15.0, rate_limit_max_wait=0.0)


def check_account(conn_id: str) -> tuple[bool, str]:
    """``(True, "instagram_acme: Connected to Instagram as @acme (BUSINESS)")`` or ``(False, why and the fix)``."""
    from airflow.exceptions import AirflowNotFoundException

    try:
        conn = airflow_side.read_connection(conn_id)
    except AirflowNotFoundException:
        return False, f"{conn_id}: there is no such connection"
    if conn.conn_type != keys.CONN_TYPE:
        return False, f"{conn_id}: is of type {conn.conn_type!r}, not an Instagram account ({keys.CONN_TYPE})"
    try:
        app_conn_id = keys.text_field(keys.parse_extras(conn.extra, conn_id), keys.APP_CONN_ID, conn_id)
        app = read_app_connection(app_conn_id) if app_conn_id else None
    except InstagramError as exc:
        return False, f"{conn_id}: {exc}"
    hook = InstagramHook(instagram_conn_id=conn_id, connection=conn, app_connection=app, retry_policy=BUTTON_RETRIES)
    ok, message = hook.test_connection()
    return ok, f"{conn_id}: {message}"
