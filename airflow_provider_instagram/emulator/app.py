"""The HTTP layer: Starlette routes that translate requests into backend calls and back."""

from __future__ import annotations

import calendar
import html
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from airflow_provider_instagram.emulator.backend import AuthorizeError, EmulatorBackend
from airflow_provider_instagram.emulator.control import control_routes
from airflow_provider_instagram.emulator.cursors import decode_cursor, encode_cursor
from airflow_provider_instagram.emulator.errors import GraphError, OAuthError, invalid_parameter, new_trace_id
from airflow_provider_instagram.emulator.faults_asgi import FaultAndVersionMiddleware, request_token
from airflow_provider_instagram.emulator.fields import parse_fields
from airflow_provider_instagram.emulator.insights import InsightsQuery
from airflow_provider_instagram.emulator.media_bytes import jpeg_bytes, mp4_bytes
from airflow_provider_instagram.emulator.model import Account, Media, Token
from airflow_provider_instagram.emulator.render import CdnSigner, Renderer

JSON_TYPE = "application/json; charset=UTF-8"
_OK_HEADERS = {"Cache-Control": "private, no-cache, no-store, must-revalidate", "Pragma": "no-cache"}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?(Z|[+-]00:?00)?$")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    trace = new_trace_id()
    merged = {**_OK_HEADERS, "X-Fb-Request-Id": trace, "X-Fb-Trace-Id": trace, **(headers or {})}
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=JSON_TYPE, headers=merged)


def graph_error_response(exc: GraphError) -> Response:
    content = json.dumps(exc.body(), separators=(",", ":")).encode()
    headers = {"Cache-Control": "no-store", **exc.response_headers()}
    return Response(content, status_code=exc.status, media_type=JSON_TYPE, headers=headers)


def query_time(value: str | None, name: str) -> int | None:
    """``since``/``until``: a Unix timestamp or an ISO 8601 date/time (a subset of strtotime)."""
    if value is None or value == "":
        return None
    if value.lstrip("-").isdigit():
        return int(value)
    if _DATE_RE.match(value):
        text = value.replace(" ", "T").replace("Z", "").replace("+00:00", "").replace("+0000", "")
        fmt = "%Y-%m-%d" if "T" not in text else ("%Y-%m-%dT%H:%M:%S" if text.count(":") == 2 else "%Y-%m-%dT%H:%M")
        return calendar.timegm(time.strptime(text, fmt))
    raise invalid_parameter(f"The parameter {name} must be a Unix timestamp or a date, not {value!r}")


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return 25
    if not value.isdigit() or int(value) < 1:
        raise invalid_parameter(f"The parameter limit must be a positive integer, not {value!r}")
    return min(int(value), 100)


class GraphApi:
    """Route handlers over one backend."""

    def __init__(self, backend: EmulatorBackend) -> None:
        self.backend = backend

    # ------------------------------------------------------------ helpers
    def base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def renderer(self, request: Request) -> Renderer:
        b = self.backend
        return Renderer(b.config, self.base(request), CdnSigner(b.cdn_key), b.now)

    def authorised(self, request: Request) -> tuple[Token, dict[str, str]]:
        token = self.backend.authenticate(request_token(request))
        return token, self.backend.record_call(token)

    # ------------------------------------------------------------ graph data
    async def node(self, request: Request) -> Response:
        try:
            token, usage = self.authorised(request)
            node_id = request.path_params["node_id"]
            fields = parse_fields(request.query_params.get("fields"))
            render = self.renderer(request)
            if node_id == "me" or node_id in self.backend.accounts:
                body = render.user(self.backend.account_for(token, node_id), fields)
            else:
                body = render.media(self.backend.media_for(token, node_id), fields)
            return json_response(body, headers=usage)
        except GraphError as exc:
            return graph_error_response(exc)

    async def edge(self, request: Request) -> Response:
        try:
            token, usage = self.authorised(request)
            node_id, edge = request.path_params["node_id"], request.path_params["edge"]
            if edge == "media":
                return self.media_edge(request, token, self.backend.account_for(token, node_id), usage)
            if edge == "insights":
                return json_response(self.backend.insights(token, node_id, self.insights_query(request)), headers=usage)
            if edge == "stories":
                render, fields = self.renderer(request), parse_fields(request.query_params.get("fields"))
                body = {"data": [render.media(s, fields) for s in self.backend.stories(token, node_id)]}
                return json_response(body, headers=usage)
            if edge == "children":
                item = self.backend.media_for(token, node_id)
                fields = parse_fields(request.query_params.get("fields"))
                render = self.renderer(request)
                body = {"data": [render.media(c, fields) for c in self.backend.children(item)]}
                return json_response(body, headers=usage)
            raise invalid_parameter(f"Tried accessing nonexisting field ({edge})")
        except GraphError as exc:
            return graph_error_response(exc)

    def version(self, request: Request) -> str:
        return str(request.scope.get("ig_version") or self.backend.config.default_api_version)

    def insights_query(self, request: Request) -> InsightsQuery:
        q = request.query_params
        since, until = query_time(q.get("since"), "since"), query_time(q.get("until"), "until")
        return InsightsQuery.parse(q, self.version(request), since, until)

    def media_edge(self, request: Request, token: Token, account: Account, usage: dict[str, str]) -> Response:
        q = request.query_params
        since, until = query_time(q.get("since"), "since"), query_time(q.get("until"), "until")
        limit = parse_limit(q.get("limit"))
        after, before = (
            decode_cursor(q.get("after"), since, until),
            decode_cursor(q.get("before"), since, until),
        )
        fields = parse_fields(q.get("fields"))
        items, start, lo, hi = self.backend.media_page(
            account, limit=limit, since=since, until=until, after=after, before=before
        )
        render = self.renderer(request)
        body: dict[str, Any] = {"data": [render.media(m, fields) for m in items]}
        if items:
            body["paging"] = self.paging(request, token, account, items, start, lo, hi, (limit, since, until))
        return json_response(body, headers=usage)

    def paging(
        self, request: Request, token: Token, account: Account, items: list[Media],
        start: int, lo: int, hi: int, query: tuple[int, int | None, int | None],
    ) -> dict[str, Any]:  # fmt: skip
        limit, since, until = query
        first, last = encode_cursor(items[0].id, since, until), encode_cursor(items[-1].id, since, until)
        version = self.version(request)
        params: list[tuple[str, Any]] = [("access_token", token.value)]
        if request.query_params.get("fields"):
            params.append(("fields", request.query_params["fields"]))
        params.append(("limit", limit))
        params += [(k, v) for k, v in (("since", since), ("until", until)) if v is not None]
        url = f"{self.base(request)}/{version}/{account.id}/media?"
        paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
        if start + len(items) < hi:
            paging["next"] = url + urlencode([*params, ("after", last)])
        if start > lo:
            paging["previous"] = url + urlencode([*params, ("before", first)])
        return paging

    # ------------------------------------------------------------ token chain
    async def exchange(self, request: Request) -> Response:
        try:
            return json_response(self.backend.exchange_short_lived(dict(request.query_params)))
        except GraphError as exc:
            return graph_error_response(exc)

    async def refresh(self, request: Request) -> Response:
        try:
            if request.method != "GET":
                raise invalid_parameter("Unsupported request - method type: " + request.method.lower())
            token = self.backend.authenticate(request.query_params.get("access_token"))
            usage = self.backend.record_call(token)
            return json_response(self.backend.refresh(dict(request.query_params)), headers=usage)
        except GraphError as exc:
            return graph_error_response(exc)

    async def oauth_access_token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            return json_response(self.backend.exchange_code(form))
        except OAuthError as exc:
            return Response(
                json.dumps(exc.body()), status_code=exc.status, media_type="application/json; charset=utf-8"
            )

    # ------------------------------------------------------------ authorization window
    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        try:
            redirect_uri, scopes = self.backend.validate_authorize(params)
        except AuthorizeError as exc:
            return HTMLResponse(_page("Error", f"<p class='error'>{html.escape(str(exc))}</p>"), status_code=400)
        decision = params.get("decision") or ("allow" if self.backend.config.auto_consent else None)
        if decision is None:
            return HTMLResponse(self.consent_page(params))
        state = params.get("state")
        if decision != "allow":
            denied = [("error", "access_denied"), ("error_reason", "user_denied"),
                      ("error_description", "The user denied your request")]  # fmt: skip
            if state is not None and self.backend.config.echo_state_on_deny:
                denied.append(("state", state))
            return RedirectResponse(_join(redirect_uri, denied), status_code=302)
        try:
            account = self.backend.find_account(params.get("account") or params.get("login_as"))
        except LookupError as exc:
            return HTMLResponse(_page("Error", f"<p class='error'>{html.escape(str(exc))}</p>"), status_code=400)
        code = self.backend.issue_code(redirect_uri, account.id, scopes)
        query = [("code", code)] + ([("state", state)] if state is not None else [])
        return RedirectResponse(_join(redirect_uri, query) + "#_", status_code=302)

    def consent_page(self, params: dict[str, str]) -> str:
        hidden = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in params.items() if k not in ("decision", "account")
        )  # fmt: skip
        options = "".join(
            f"<option value='{a.id}'>{html.escape(a.username)}</option>" for a in self.backend.accounts.values()
        )
        body = (
            "<p>The app wants to read your profile and media.</p>"
            f"<form method='post' action='/oauth/authorize'>{hidden}"
            f"<label>Log in as <select name='account' id='account'>{options}</select></label>"
            "<button type='submit' name='decision' value='allow' id='allow'>Allow</button>"
            "<button type='submit' name='decision' value='deny' id='deny'>Deny</button></form>"
        )
        return _page("Instagram (emulator): authorize app", body)

    # ------------------------------------------------------------ CDN
    async def cdn(self, request: Request) -> Response:
        kind, filename = request.path_params["kind"], request.path_params["filename"]
        oh, oe = request.query_params.get("oh", ""), request.query_params.get("oe", "")
        signer = CdnSigner(self.backend.cdn_key)
        if not signer.valid_signature(request.url.path, oh, oe):
            return Response("Bad URL hash", status_code=403, media_type="text/plain")
        try:
            expired = int(oe, 16) <= self.backend.now()
        except ValueError:
            return Response("Bad URL date param", status_code=403, media_type="text/plain")
        if expired:
            return Response("URL signature expired", status_code=403, media_type="text/plain")
        found = self.backend.cdn_file(kind, filename.rsplit(".", 1)[0])
        if found is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        content_type, record = found
        data = mp4_bytes(record.id) if content_type == "video/mp4" else jpeg_bytes(record.id)
        return Response(data, media_type=content_type, headers={"Cache-Control": "max-age=1209600"})


def _join(url: str, params: list[tuple[str, str]]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def create_app(backend: EmulatorBackend) -> FaultAndVersionMiddleware:
    """The emulator's ASGI app: Graph, OAuth and CDN routes, the control API, and fault injection."""
    api = GraphApi(backend)
    routes = [
        Route("/oauth/authorize", api.authorize, methods=["GET", "POST"]),
        Route("/oauth/access_token", api.oauth_access_token, methods=["POST"]),
        Route("/access_token", api.exchange, methods=["GET"]),
        Route("/refresh_access_token", api.refresh, methods=["GET", "POST"]),
        Route("/cdn/{kind}/{filename}", api.cdn, methods=["GET"]),
        *control_routes(backend),
        Route("/{node_id}", api.node, methods=["GET"]),
        Route("/{node_id}/{edge}", api.edge, methods=["GET"]),
    ]
    return FaultAndVersionMiddleware(Starlette(routes=routes), backend)
