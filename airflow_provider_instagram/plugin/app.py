"""The plugin's FastAPI app: connect accounts from the browser, and Meta's callbacks."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from airflow_provider_instagram.exceptions import InstagramError, OnboardingStateError, SignedRequestError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.onboarding.app_settings import app_hook, read_app_connection
from airflow_provider_instagram.onboarding.chain import APP_USER_ID, ConnectedAccount, Redirect, connect_account
from airflow_provider_instagram.onboarding.state import NonceLedger, StateSigner, derive_key
from airflow_provider_instagram.plugin import URL_PREFIX, airflow_side, meta, pages
from airflow_provider_instagram.signed_request import check_format
from airflow_provider_instagram.tokens.state import format_time
from airflow_provider_instagram.tokens.store import INSTAGRAM_CONN_TYPE

log = logging.getLogger(__name__)

DEFAULT_APP_CONN_ID = "instagram_default"
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
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
    """The app the plugin mounts under ``/instagram``."""
    app = FastAPI(title="Instagram accounts", docs_url=None, redoc_url=None, openapi_url=None)
    _onboarding_routes(app, StateSigner(derive_key(airflow_side.secret_key())), airflow_side.VariableNonceLedger())
    _meta_routes(app)
    return app


def _onboarding_routes(app: FastAPI, signer: StateSigner, ledger: NonceLedger) -> None:
    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request, conn_id: str = "", app_conn_id: str = DEFAULT_APP_CONN_ID) -> Response:
        user = await airflow_side.current_user(request)
        if user is None:
            return RedirectResponse(airflow_side.login_url(str(request.url)), status_code=302)
        form = pages.start_form(app_conn_id, conn_id, signer.form_token(user.id))
        body = form + pages.registration(url(CALLBACK_PATH), url(DEAUTHORIZE_PATH), url(DELETION_PATH))
        return _html(pages.page("Connect an Instagram account", body))

    @app.get("/connect")
    async def start_link(conn_id: str = "", app_conn_id: str = DEFAULT_APP_CONN_ID) -> Response:
        """A link only fills in the start page: starting takes a click on a page this Airflow served."""
        return RedirectResponse(url(f"/?{urlencode({'conn_id': conn_id, 'app_conn_id': app_conn_id})}"), 302)

    @app.post("/connect")
    async def start(
        request: Request, conn_id: str = Form(""), app_conn_id: str = Form(DEFAULT_APP_CONN_ID),
        form_token: str = Form(""),
    ) -> Response:  # fmt: skip
        user = await airflow_side.current_user(request)
        if user is None:
            return RedirectResponse(airflow_side.login_url(url("/")), status_code=302)
        try:
            signer.check_form_token(form_token, user.id)
        except OnboardingStateError as exc:
            return _html(pages.failed("Not started", str(exc)), 403)
        if not CONN_ID.match(conn_id) or not CONN_ID.match(app_conn_id):
            return _html(pages.failed("Invalid connection id", "Use letters, digits, '_', '-' and '.' only."), 400)
        if refused := _refusal(user, conn_id, app_conn_id):
            return refused
        existing = await run_in_threadpool(airflow_side.connection_type, conn_id)
        if existing not in (None, INSTAGRAM_CONN_TYPE):
            message = f"Connection {conn_id} exists and is of type {existing}: choose another connection id."
            return _html(pages.failed("Cannot start", message), 409)
        try:
            hook = await run_in_threadpool(account_hook, conn_id, app_conn_id)
            target = hook.get_authorization_url(signer.issue(conn_id, app_conn_id, user.id))
        except Exception as exc:  # a missing or incomplete app connection: say which and how to fix it
            message = f"App connection {app_conn_id} is not usable: {exc}"
            fix = "Create it: type instagram, login = Instagram app id, password = app secret."
            return _html(pages.failed("Cannot start", message, fix), 400)
        return RedirectResponse(target, status_code=303)

    @app.get(CALLBACK_PATH)
    async def callback(request: Request) -> Response:
        redirect = Redirect.of_query(dict(request.query_params))
        if redirect.error:  # only Instagram's error code is shown: the page must not carry text a link chose
            code = redirect.error if _ERROR_CODE.match(redirect.error) else "error"
            message = f"The app was not allowed (Instagram: {code}). Nothing was saved."
            return _html(pages.failed("Not connected", message), 400)
        user = await airflow_side.current_user(request)
        if user is None:
            message = "Your Airflow session ended before Instagram sent you back. Log in and start again."
            return _html(pages.failed("Not connected", message), 401)
        try:
            claims = await run_in_threadpool(signer.verify, redirect.state or "", user.id, ledger)
            if refused := _refusal(user, claims.conn_id, claims.app_conn_id):
                return refused
            account, created = await run_in_threadpool(_connect, claims.conn_id, claims.app_conn_id, redirect)
        except InstagramError as exc:
            return _html(pages.failed("Not connected", str(exc), "Nothing was saved."), 400)
        except Exception as exc:  # the metadata DB failed after Instagram issued a token: say so, never a traceback
            log.exception("Connecting an Instagram account failed")
            message = f"Saving the connection failed ({type(exc).__name__}); nothing was saved. Start again."
            return _html(pages.failed("Not connected", message), 500)
        expires = format_time(account.expires_at) or "at an unknown time"
        return _html(pages.connected(account.conn_id, account.username, account.user_id, expires, created))


def _refusal(user: airflow_side.AirflowUser, conn_id: str, app_conn_id: str) -> Response | None:
    """A 403 page unless ``user`` may create and edit ``conn_id`` and read the app connection."""
    if user.may_edit_connection(conn_id) and user.may_read_connection(app_conn_id):
        return None
    message = f"Airflow user {user.name} may not edit connection {conn_id} or read connection {app_conn_id}."
    return _html(pages.failed("Not allowed", message, "Ask an Airflow admin for connection rights."), 403)


def _meta_routes(app: FastAPI) -> None:
    @app.post(DEAUTHORIZE_PATH)
    async def deauthorize(signed_request: str = Form("")) -> Response:
        if (request := await _verified(signed_request)) is None:
            return _bad_request()
        accounts = request.current()
        await run_in_threadpool(_revoke, accounts, "the user removed the app")
        return JSONResponse({"success": True, "accounts": len(accounts)})

    @app.post(DELETION_PATH)
    async def data_deletion(signed_request: str = Form("")) -> Response:
        if (request := await _verified(signed_request)) is None:
            return _bad_request()
        try:
            code = await run_in_threadpool(_start_deletion, request)
        except Exception:  # no deletion DAG deployed or parsed: Meta should call again, nothing was changed
            log.exception("Could not start %s", meta.DELETION_DAG_ID)
            return Response(status_code=503)
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


def _connect(conn_id: str, app_conn_id: str, redirect: Redirect) -> tuple[ConnectedAccount, bool]:
    account = connect_account(account_hook(conn_id, app_conn_id), conn_id, redirect.require_code())
    created = airflow_side.save_connection(
        conn_id, {"password": account.token}, lambda current: account.extra({**current, "app_conn_id": app_conn_id})
    )
    return account, created


async def _verified(signed_request: str) -> meta.VerifiedRequest | None:
    """The request, verified with the secret of the app that signed it; ``None`` when it cannot be trusted."""
    try:
        check_format(signed_request)  # garbage is refused before any connection is read
        return await run_in_threadpool(_verify, signed_request)
    except SignedRequestError:
        return None


def _verify(signed_request: str) -> meta.VerifiedRequest:
    apps = meta.secrets_by_app(airflow_side.instagram_connections(), read_app_connection, also=[DEFAULT_APP_CONN_ID])
    return meta.verify(signed_request, apps)


def _revoke(accounts: list[airflow_side.StoredConnection], why: str) -> None:
    """Clear the accounts' tokens and mark them ``revoked``."""
    for account in accounts:
        airflow_side.save_connection(account.conn_id, {"password": None}, meta.revoked(why))


def _start_deletion(request: meta.VerifiedRequest) -> str:
    """Start the deletion DAG for every id the user's data is filed under, then revoke their accounts."""
    named, current = request.named(), request.current()
    if len(current) < len(named):  # the user came back since: this is a replay
        current, user_ids = [], set()
    else:  # files are filed under /me's id, rows under both ids: every id the user is known by
        user_ids = {str(a.extra[k]) for a in current for k in ("user_id", APP_USER_ID) if a.extra.get(k)}
        user_ids |= {request.user_id} if request.user_id else set()
    code = secrets.token_hex(10)
    conf: dict[str, Any] = {"user_ids": sorted(user_ids), "confirmation_code": code}
    airflow_side.trigger_run(meta.DELETION_DAG_ID, _run_id(code), conf, "meta-data-deletion-callback")
    _revoke(current, "the user asked Meta to delete their data")
    return code


def _run_id(code: str) -> str:
    return f"meta_deletion__{quote(code)}"
