"""ASGI middleware: strips the optional ``/vNN.N`` prefix, counts calls per endpoint, and injects faults."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
from collections.abc import Awaitable, Callable, Container, MutableMapping
from typing import Any

from starlette.requests import Request

from airflow_provider_instagram.emulator.backend import EmulatorBackend
from airflow_provider_instagram.emulator.errors import GraphError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_VERSION = re.compile(r"^/(v\d+\.\d+)(/.*)$")
_FIXED = {
    "/oauth/authorize": "oauth_authorize",
    "/oauth/access_token": "oauth_access_token",
    "/access_token": "access_token",
    "/refresh_access_token": "refresh_access_token",
    "/me": "me",
}
_HTML_ERROR = (
    "<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Sorry, something went wrong.</h1>"
    "<p>We're working on getting this fixed as soon as we can.</p></body></html>"
)


def request_token(request: Request) -> str | None:
    """The access token a request carries: ``Authorization: Bearer``, else the query's ``access_token``."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("access_token")


def classify(path: str, accounts: Container[str] = ()) -> str:
    """The endpoint name fault rules and call counters use; ``accounts`` tells account from media insights."""
    if path in _FIXED:
        return _FIXED[path]
    if path.startswith("/_emulator/"):
        return "control"
    if path.startswith("/cdn/"):
        return "cdn"
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[1] == "media":
        return "media_edge"
    if len(parts) == 2 and parts[1] == "children":
        return "children"
    if len(parts) == 2 and parts[1] == "stories":
        return "stories"
    if len(parts) == 2 and parts[1] == "insights":
        return "account_insights" if parts[0] == "me" or parts[0] in accounts else "media_insights"
    return "node"


class FaultAndVersionMiddleware:
    """Wraps the router; everything here is per request and cheap when no fault is active."""

    def __init__(self, app: ASGIApp, backend: EmulatorBackend) -> None:
        self.app = app
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = _VERSION.match(scope["path"])
        if match:
            scope = dict(scope, path=match.group(2), raw_path=match.group(2).encode(), ig_version=match.group(1))
        endpoint = classify(scope["path"], self.backend.accounts)
        if endpoint != "control":
            self.backend.count(endpoint)
            fault = self.backend.faults.next_fault(
                endpoint, lambda: self.backend.identities_of(request_token(Request(scope)))
            )
            if fault is not None and await self._inject(fault, scope, receive, send):
                return
        await self.app(scope, receive, send)

    async def _inject(self, fault: dict[str, Any], scope: Scope, receive: Receive, send: Send) -> bool:
        """Apply ``fault``; True when it answered the request itself."""
        kind = fault["kind"]
        if kind == "latency":
            await asyncio.sleep(float(fault.get("ms", 100)) / 1000)
            return False
        if kind == "reset":
            _abort(send, reset=True)
            return True
        if kind == "truncated":
            await self._truncate(scope, receive, send)
            return True
        status = int(fault.get("status", 503 if kind != "graph_error" else 400))
        if kind == "html":
            await _send(send, status, _HTML_ERROR.encode(), "text/html; charset=utf-8", {})
            return True
        if kind == "http_error":
            error = GraphError(2, "An unexpected error has occurred. Please retry your request later.", status=status)
        else:
            sub = fault.get("subcode")
            error = GraphError(
                int(fault.get("code", 1)), str(fault.get("message", "An unknown error occurred")),
                subcode=int(sub) if sub is not None else None, status=status,
            )  # fmt: skip
        body = json.dumps(error.body(), separators=(",", ":")).encode()
        await _send(send, status, body, "application/json; charset=UTF-8", error.response_headers())
        return True

    async def _truncate(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Produce the real answer, promise all of it, send half, then drop the connection."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        await send(start)
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        _abort(send, reset=False)


async def _send(send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _abort(send: Send, *, reset: bool) -> None:
    """Drop the client's connection; with ``reset`` the kernel answers RST (SO_LINGER 0).

    uvicorn hands the app the request cycle's bound ``send``; its ``transport`` is the connection.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("fault injection needs uvicorn's transport")
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # The dropped answer is deliberate: tell uvicorn the cycle is over so it does not log it as an app error.
    for flag in ("response_started", "response_complete"):
        if hasattr(cycle, flag):
            setattr(cycle, flag, True)
