"""The plugin's FastAPI app: connect accounts from the browser, and Meta's callbacks."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from airflow_provider_instagram.exceptions import InstagramError, OnboardingStateError, SignedRequestError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.onboarding.app_settings import app_hook, read_app_connection
from airflow_provider_instagram.onboarding.chain import APP_USER_ID, ConnectedAccount, Redirect, connect_account
from airflow_provider_instagram.onboarding.state import StateSigner, derive_key
from airflow_provider_instagram.plugin import URL_PREFIX, airflow_side, meta, pages
from airflow_provider_instagram.tokens.state import format_time

DEFAULT_APP_CONN_ID = "instagram_default"
CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")
CALLBACK_PATH, DEAUTHORIZE_PATH, DELETION_PATH = "/oauth/callback", "/meta/deauthorize", "/meta/data-deletion"


def url(path: str) -> str:
    return f"{airflow_side.base_url()}{URL_PREFIX}{path}"


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        body, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


def _bad_request() -> Response:
    """Meta's callbacks answer a request they cannot trust with a bare 400, and do nothing."""
    return Response(status_code=400)


def account_hook(conn_id: str, app_conn_id: str) -> InstagramHook:
    """A hook with the app's settings and this plugin's callback as redirect URI (no token yet)."""
    return app_hook(conn_id, read_app_connection(app_conn_id), {"redirect_uri": url(CALLBACK_PATH)})


def create_app() -> FastAPI:
    app = FastAPI(title="Instagram accounts", docs_url=None, redoc_url=None, openapi_url=None)
    signer = StateSigner(derive_key(airflow_side.secret_key()))
    ledger = airflow_side.VariableNonceLedger()

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request, app_conn_id: str = DEFAULT_APP_CONN_ID) -> Response:
        user = await airflow_side.current_user(request)
        if user is None:
            return RedirectResponse(airflow_side.login_url(str(request.url)), status_code=302)
        body = pages.start_form(app_conn_id) + pages.registration(url(CALLBACK_PATH), url(DEAUTHORIZE_PATH),
                                                                   url(DELETION_PATH))  # fmt: skip
        return _html(pages.page("Connect an Instagram account", body))

    @app.get("/connect")
    async def start(request: Request, conn_id: str, app_conn_id: str = DEFAULT_APP_CONN_ID) -> Response:
        user = await airflow_side.current_user(request)
        if user is None:
            return RedirectResponse(airflow_side.login_url(str(request.url)), status_code=302)
        if not CONN_ID.match(conn_id) or not CONN_ID.match(app_conn_id):
            return _html(pages.failed("Invalid connection id", "Use letters, digits, '_', '-' and '.' only."), 400)
        if not user.may_edit_connection(conn_id):
            message = f"Airflow user {user.name} may not create or edit connection {conn_id}."
            return _html(pages.failed("Not allowed", message, "Ask an Airflow admin for connection edit rights."), 403)
        try:
            hook = await run_in_threadpool(account_hook, conn_id, app_conn_id)
            target = hook.get_authorization_url(signer.issue(conn_id, app_conn_id, user.id))
        except Exception as exc:  # a missing or incomplete app connection: say which and how to fix it
            message = f"App connection {app_conn_id} is not usable: {exc}"
            fix = "Create it: login = Instagram app id, password = app secret (the app's connection form)."
            return _html(pages.failed("Cannot start", message, fix), 400)
        return RedirectResponse(target, status_code=302)

    @app.get(CALLBACK_PATH)
    async def callback(request: Request) -> Response:
        redirect = Redirect.of_query(dict(request.query_params))
        if redirect.error:
            reason = redirect.error_description or redirect.error_reason or redirect.error
            return _html(pages.failed("Not connected", f"Instagram said: {reason}. Nothing was saved."), 400)
        user = await airflow_side.current_user(request)
        if user is None:
            message = "Your Airflow session ended before Instagram sent you back. Log in and start again."
            return _html(pages.failed("Not connected", message), 401)
        try:
            claims = await run_in_threadpool(signer.verify, redirect.state or "", user.id, ledger)
            if not user.may_edit_connection(claims.conn_id):
                raise OnboardingStateError(f"Airflow user {user.name} may not edit connection {claims.conn_id}")
            account, created = await run_in_threadpool(_connect, claims.conn_id, claims.app_conn_id, redirect)
        except InstagramError as exc:
            return _html(pages.failed("Not connected", str(exc), "Nothing was saved."), 400)
        expires = format_time(account.expires_at) or "at an unknown time"
        return _html(pages.connected(account.conn_id, account.username, account.user_id, expires, created))

    @app.post(DEAUTHORIZE_PATH)
    async def deauthorize(signed_request: str = Form("")) -> Response:
        try:
            _, accounts = await run_in_threadpool(_revoke_named, signed_request, "the user removed the app")
        except SignedRequestError:
            return _bad_request()
        return JSONResponse({"success": True, "accounts": len(accounts)})

    @app.post(DELETION_PATH)
    async def data_deletion(signed_request: str = Form("")) -> Response:
        try:
            code = await run_in_threadpool(_start_deletion, signed_request)
        except SignedRequestError:
            return _bad_request()
        return JSONResponse({"url": url(f"/meta/deletion/{code}"), "confirmation_code": code})

    @app.get("/meta/deletion/{code}", response_class=HTMLResponse)
    async def deletion_status(code: str) -> Response:
        if not code.isalnum() or len(code) > 64:
            return _html(pages.failed("Unknown request", "There is no deletion request with this code."), 404)
        state = await run_in_threadpool(airflow_side.run_state, meta.DELETION_DAG_ID, _run_id(code))
        if state is None:
            return _html(pages.failed("Unknown request", "There is no deletion request with this code."), 404)
        status = {"success": "done", "failed": "failed"}.get(state, "pending")
        return _html(pages.deletion_status(code, status))

    return app


def _connect(conn_id: str, app_conn_id: str, redirect: Redirect) -> tuple[ConnectedAccount, bool]:
    account = connect_account(account_hook(conn_id, app_conn_id), conn_id, redirect.require_code())
    created = airflow_side.save_connection(
        conn_id, {"password": account.token}, lambda current: account.extra({**current, "app_conn_id": app_conn_id})
    )
    return account, created


def _revoke_named(signed_request: str, why: str) -> tuple[dict[str, Any], list[airflow_side.StoredConnection]]:
    """Verify the request against every app's secret, then revoke the accounts it names: token cleared,
    status ``revoked``. The payload and those accounts."""
    connections = airflow_side.instagram_connections()
    payload = meta.verify(signed_request, meta.app_secrets(connections, read_app_connection))
    accounts = meta.accounts_named(payload, connections)
    for account in accounts:
        airflow_side.save_connection(account.conn_id, {"password": None}, meta.revoked(why))
    return payload, accounts


def _start_deletion(signed_request: str) -> str:
    """Revoke the user's accounts and start the deletion DAG for every id their data is filed under."""
    payload, accounts = _revoke_named(signed_request, "the user asked Meta to delete their data")
    # Files are filed under /me's id, rows under both ids: delete under every id the user is known by.
    user_ids = {str(a.extra[key]) for a in accounts for key in ("user_id", APP_USER_ID) if a.extra.get(key)}
    if payload.get("user_id"):
        user_ids.add(str(payload["user_id"]))
    code = secrets.token_hex(10)
    conf: dict[str, Any] = {"user_ids": sorted(user_ids), "confirmation_code": code}
    airflow_side.trigger_run(meta.DELETION_DAG_ID, _run_id(code), conf, "meta-data-deletion-callback")
    return code


def _run_id(code: str) -> str:
    return f"meta_deletion__{quote(code)}"
