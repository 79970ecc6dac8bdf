"""The plugin's FastAPI app: connect accounts from the browser, and Meta's callbacks."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.metadata_db import MetadataDbTransport
from airflow_provider_instagram.account.record import format_time
from airflow_provider_instagram.account.writer import AccountWriter
from airflow_provider_instagram.dag_files import DELETION_DAG_ID
from airflow_provider_instagram.exceptions import (
    ConnectionConflictError,
    InstagramError,
    OnboardingStateError,
    SignedRequestError,
)
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.onboarding.app_settings import app_hook, read_app_connection
from airflow_provider_instagram.onboarding.chain import ConnectedAccount, Redirect, connect_account
from airflow_provider_instagram.onboarding.state import NonceLedger, OnboardingClaims, StateSigner, derive_key
from airflow_provider_instagram.plugin import URL_PREFIX, access_log, airflow_side, meta, pages
from airflow_provider_instagram.plugin.account_check import check_account
from airflow_provider_instagram.plugin.accounts_page import AccountsView, Notice, render
from airflow_provider_instagram.plugin.overview import read_overview, setup_problems
from airflow_provider_instagram.signed_request import check_signed_request_format

log = logging.getLogger(__name__)

DEFAULT_APP_CONN_ID = keys.DEFAULT_APP_CONN_ID
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
CONN_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")
CALLBACK_PATH, DEAUTHORIZE_PATH, DELETION_PATH = "/oauth/callback", "/meta/deauthorize", "/meta/data-deletion"


def base_url(request: Request) -> tuple[str, bool]:
    """Airflow's public URL and whether it is configured: ``[api] base_url``, else the address the browser (or
    Meta) used for this request, so that links and the redirect URI point where the user is."""
    configured = airflow_side.configured_base_url()
    return (configured, True) if configured else (f"{request.url.scheme}://{request.url.netloc}", False)


def url(request: Request, path: str) -> str:
    return f"{base_url(request)[0]}{URL_PREFIX}{path}"


def home(request: Request) -> str:
    """The Instagram page (what Airflow's navigation entry opens)."""
    return url(request, "/")


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        body, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


def _bad_request() -> Response:
    """Meta's callbacks answer a request they cannot trust with a bare 400, and do nothing."""
    return Response(status_code=400)


def onboarding_hook(conn_id: str, app_conn_id: str, redirect_uri: str) -> InstagramHook:
    """A hook with the app's settings and this plugin's callback as redirect URI (no token yet)."""
    return app_hook(conn_id, read_app_connection(app_conn_id), {"redirect_uri": redirect_uri})


def create_app() -> FastAPI:
    """The app the plugin mounts under ``/instagram``."""
    app = FastAPI(title="Instagram accounts", docs_url=None, redoc_url=None, openapi_url=None)
    access_log.install(app)
    writer = AccountWriter(MetadataDbTransport())
    signer = StateSigner(derive_key(airflow_side.secret_key()))
    _page_routes(app, signer, writer)
    _onboarding_routes(app, signer, writer)
    _callback_route(app, signer, airflow_side.VariableNonceLedger(), writer)
    _meta_routes(app, writer, meta.AppSecrets(lambda: _app_secrets(writer)))
    return app


def _page_routes(app: FastAPI, signer: StateSigner, writer: AccountWriter) -> None:
    """The Instagram page (every account's token health), and its Test button."""

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request, conn_id: str = "", app_conn_id: str = DEFAULT_APP_CONN_ID) -> Response:
        """``conn_id`` and ``app_conn_id`` fill in the form that connects an account."""
        user = await airflow_side.current_user(request)
        if user is None:
            return RedirectResponse(airflow_side.login_url(str(request.url)), status_code=302)
        start = (conn_id, app_conn_id)
        return _html(await _accounts_page(request, user, signer, writer, None, start))

    @app.post("/test", response_class=HTMLResponse)
    async def test(request: Request, conn_id: str = Form(""), form_token: str = Form("")) -> Response:
        user = await airflow_side.current_user(request)
        if user is None:
            return RedirectResponse(airflow_side.login_url(url(request, "/")), status_code=302)
        try:
            signer.check_form_token(form_token, user.id)
        except OnboardingStateError as exc:
            return _html(pages.failed("Not tested", str(exc), home=home(request)), 403)
        if not CONN_ID.match(conn_id) or not user.may_read_connection(conn_id):
            notice = Notice(False, f"Airflow user {user.name} may not read connection {conn_id!r}.")
        else:
            notice = Notice(*await run_in_threadpool(check_account, conn_id))
        return _html(await _accounts_page(request, user, signer, writer, notice, ("", DEFAULT_APP_CONN_ID)))


async def _accounts_page(
    request: Request, user: airflow_side.AirflowUser, signer: StateSigner, writer: AccountWriter,
    notice: Notice | None, start: tuple[str, str],
) -> str:  # fmt: skip
    now = datetime.now(UTC)
    rows = await run_in_threadpool(writer.transport.instagram_rows)
    seen = await run_in_threadpool(read_overview, rows, user.may_read_connection, now)
    base, configured = base_url(request)
    registration = pages.registration(
        url(request, CALLBACK_PATH), url(request, DEAUTHORIZE_PATH), url(request, DELETION_PATH), base, configured
    )
    view = AccountsView(
        lines=seen.lines, hidden=seen.hidden, warn_days=seen.warn_days, refresh=seen.refresh, problems=seen.problems,
        app_status=seen.app_status, start=start, form_token=signer.form_token(user.id),
        registration=registration, home=home(request), notice=notice,
    )  # fmt: skip
    return render(view)


def _onboarding_routes(app: FastAPI, signer: StateSigner, writer: AccountWriter) -> None:
    """Connecting (and reconnecting) an account: the form sends the user to Instagram's authorization window."""

    @app.get("/connect")
    async def start_link(request: Request, conn_id: str = "", app_conn_id: str = DEFAULT_APP_CONN_ID) -> Response:
        """A link only fills in the form: starting takes a click on a page this Airflow served."""
        query = urlencode({"conn_id": conn_id, "app_conn_id": app_conn_id})
        return RedirectResponse(url(request, f"/?{query}"), 302)

    @app.post("/connect")
    async def start(
        request: Request, conn_id: str = Form(""), app_conn_id: str = Form(DEFAULT_APP_CONN_ID),
        form_token: str = Form(""),
    ) -> Response:  # fmt: skip
        user = await airflow_side.current_user(request)
        if user is None:
            return RedirectResponse(airflow_side.login_url(home(request)), status_code=302)
        back = home(request)
        try:
            signer.check_form_token(form_token, user.id)
        except OnboardingStateError as exc:
            return _html(pages.failed("Not started", str(exc), home=back), 403)
        if not CONN_ID.match(conn_id) or not CONN_ID.match(app_conn_id):
            hint = "Use letters, digits, '_', '-' and '.' only."
            return _html(
                pages.failed("Invalid connection id", f"{conn_id!r} is not a valid id.", home=back, hint=hint), 400
            )
        if refused := _refusal(user, conn_id, app_conn_id, back):
            return refused
        try:
            await run_in_threadpool(writer.check_target, conn_id, app_conn_id)
            hook = await run_in_threadpool(onboarding_hook, conn_id, app_conn_id, url(request, CALLBACK_PATH))
            target = hook.get_authorization_url(signer.issue(conn_id, app_conn_id, user.id))
        except ConnectionConflictError as exc:
            return _html(pages.failed("Cannot start", str(exc), home=back), 409)
        except InstagramError as exc:  # a missing or incomplete app connection: the message says which and the fix
            return _html(pages.failed("Cannot start", str(exc), home=back), 400)
        return RedirectResponse(target, status_code=303)


def _callback_route(app: FastAPI, signer: StateSigner, ledger: NonceLedger, writer: AccountWriter) -> None:
    """Where Instagram sends the browser back: the state is checked, the chain run, the connection saved."""

    @app.get(CALLBACK_PATH)
    async def callback(request: Request) -> Response:
        back = home(request)
        redirect = Redirect.of_query(dict(request.query_params))
        if redirect.error:  # only Instagram's error code is shown: the page must not carry text a link chose
            code = redirect.error if _ERROR_CODE.match(redirect.error) else "error"
            message = f"The app was not allowed (Instagram: {code}). Nothing was saved."
            return _html(pages.failed("Not connected", message, home=back), 400)
        user = await airflow_side.current_user(request)
        if user is None:
            message = "Your Airflow session ended before Instagram sent you back. Log in and start again."
            return _html(pages.failed("Not connected", message, home=back), 401)
        try:
            claims = await run_in_threadpool(signer.verify, redirect.state or "", user.id, ledger)
            if refused := _refusal(user, claims.conn_id, claims.app_conn_id, back):
                return refused
            redirect_uri = url(request, CALLBACK_PATH)
            account, created = await run_in_threadpool(_connect, writer, claims, redirect, redirect_uri)
        except ConnectionConflictError as exc:
            return _html(pages.failed("Not connected", str(exc), home=back, hint="Nothing was saved."), 409)
        except InstagramError as exc:
            return _html(pages.failed("Not connected", str(exc), home=back, hint="Nothing was saved."), 400)
        except Exception as exc:  # the metadata DB failed after Instagram issued a token: say so, never a traceback
            log.exception("Connecting an Instagram account failed")
            message = f"Saving the connection failed ({type(exc).__name__}); nothing was saved. Start again."
            return _html(pages.failed("Not connected", message, home=back), 500)
        expires = format_time(account.expires_at) or "at an unknown time"
        problems = await run_in_threadpool(setup_problems)
        body = pages.connected(
            account.conn_id, account.username, account.user_id, expires, created, problems, home=back
        )
        return _html(body)


def _refusal(user: airflow_side.AirflowUser, conn_id: str, app_conn_id: str, back: str) -> Response | None:
    """A 403 page unless ``user`` may create and edit ``conn_id`` and read the app connection."""
    if user.may_edit_connection(conn_id) and user.may_read_connection(app_conn_id):
        return None
    message = f"Airflow user {user.name} may not edit connection {conn_id} or read connection {app_conn_id}."
    hint = "Ask an Airflow admin for connection rights."
    return _html(pages.failed("Not allowed", message, home=back, hint=hint), 403)


def _meta_routes(app: FastAPI, writer: AccountWriter, app_secrets: meta.AppSecrets) -> None:
    @app.post(DEAUTHORIZE_PATH)
    async def deauthorize(signed_request: str = Form("")) -> Response:
        if (request := await _verified(signed_request, writer, app_secrets)) is None:
            return _bad_request()
        accounts = [a.conn_id for a in request.current()]
        await run_in_threadpool(_revoke, writer, accounts, "the user removed the app", False)
        return JSONResponse({"success": True, "accounts": len(accounts)})

    @app.post(DELETION_PATH)
    async def data_deletion(request: Request, signed_request: str = Form("")) -> Response:
        if (verified := await _verified(signed_request, writer, app_secrets)) is None:
            return _bad_request()
        code = hashlib.sha256(signed_request.encode()).hexdigest()[:20]  # a retry of one request: one run
        try:
            started = await run_in_threadpool(_start_deletion, writer, verified, code)
        except Exception:  # the metadata DB failed: Meta calls again, and revoking again changes nothing
            log.exception("Could not start %s", DELETION_DAG_ID)
            return Response(status_code=503)
        if not started:  # the accounts are revoked already; the deletion starts on Meta's retry
            log.error(
                "Meta asked for a data deletion but DAG %s is not deployed: deploy it "
                "(dags/instagram_data_deletion.py) so that Meta's retry deletes the data",
                DELETION_DAG_ID,
            )
            return Response(status_code=503)
        return JSONResponse({"url": url(request, f"/meta/deletion/{code}"), "confirmation_code": code})

    @app.get("/meta/deletion/{code}", response_class=HTMLResponse)
    async def deletion_status(code: str) -> Response:
        unknown = pages.deletion_status(code[:64], "unknown")
        if not code.isalnum() or len(code) > 64:
            return _html(unknown, 404)
        state = await run_in_threadpool(airflow_side.run_state, DELETION_DAG_ID, _run_id(code))
        if state is None:
            return _html(unknown, 404)
        status = {"success": "done", "failed": "failed"}.get(state, "pending")
        return _html(pages.deletion_status(code, status))


def _connect(
    writer: AccountWriter, claims: OnboardingClaims, redirect: Redirect, redirect_uri: str
) -> tuple[ConnectedAccount, bool]:
    hook = onboarding_hook(claims.conn_id, claims.app_conn_id, redirect_uri)
    account = connect_account(hook, claims.conn_id, redirect.require_code())
    settings = {keys.APP_CONN_ID: claims.app_conn_id}
    return account, writer.save_connected(claims.conn_id, account.record, account.token, settings=settings)


def _secret_reader() -> Any:
    """The secret of an app connection, each read once per use of the reader (``None`` when it is missing)."""
    read: dict[str, str | None] = {}

    def secret_of(app_conn_id: str) -> str | None:
        if app_conn_id not in read:
            try:
                read[app_conn_id] = keys.app_secret(read_app_connection(app_conn_id))
            except Exception:  # a missing or unreadable app connection signs nothing
                read[app_conn_id] = None
        return read[app_conn_id]

    return secret_of


def _app_secrets(writer: AccountWriter) -> list[str]:
    """Every app secret in use: the accounts' apps, and the default app (it may have no account yet)."""
    secret_of = _secret_reader()
    found = [a.secret for a in meta.accounts(writer.transport.instagram_rows(), secret_of) if a.secret]
    return [*found, *filter(None, [secret_of(DEFAULT_APP_CONN_ID)])]


async def _verified(
    signed_request: str, writer: AccountWriter, app_secrets: meta.AppSecrets
) -> meta.VerifiedRequest | None:
    """The request, verified with the (cached) secret of the app that signed it, with that app's accounts; ``None``
    when it cannot be trusted. No account is read before the signature holds."""
    try:
        check_signed_request_format(signed_request)
        payload, secret = await run_in_threadpool(app_secrets.verify, signed_request)
    except SignedRequestError:
        return None
    every = await run_in_threadpool(lambda: meta.accounts(writer.transport.instagram_rows(), _secret_reader()))
    return meta.VerifiedRequest.of(payload, secret, every)


def _revoke(writer: AccountWriter, conn_ids: list[str], why: str, deletion: bool) -> None:
    """Clear the accounts' tokens and mark them ``revoked``."""
    if conn_ids:
        writer.revoke(conn_ids, why, datetime.now(UTC), deletion=deletion)


def _start_deletion(writer: AccountWriter, request: meta.VerifiedRequest, code: str) -> bool:
    """Revoke the user's accounts (so that no export or load in flight publishes their data again), then start
    the deletion DAG for the user's id, once per request; False when the DAG is not deployed."""
    user_ids = request.deletion_user_ids()
    current = [a.conn_id for a in request.current()] if user_ids else []
    _revoke(writer, current, "the user asked Meta to delete their data", True)
    if not airflow_side.dag_exists(DELETION_DAG_ID):
        return False
    if airflow_side.run_state(DELETION_DAG_ID, _run_id(code)) is None:
        conf: dict[str, Any] = {"user_ids": user_ids, "confirmation_code": code}
        airflow_side.trigger_run(DELETION_DAG_ID, _run_id(code), conf, "meta-data-deletion-callback")
    return True


def _run_id(code: str) -> str:
    return f"meta_deletion__{quote(code)}"
