"""Keep the OAuth callback's ``code`` and ``state`` out of the API server's access log.

Airflow 3.3 writes one access line per request (``HttpAccessLogMiddleware``, logger ``http.access``) once the app
has answered, with the request's query string; it masks only the values whose key looks secret to its secrets masker
(``token``, ``password``...), and neither ``code`` nor ``state`` does: ``/instagram/oauth/callback?code=...`` was
logged in full. That line is a structlog event written straight to the output, not a ``logging`` record, so a
``logging.Filter`` never sees it. Instead, :class:`QueryMasking` replaces the two values in the request's ASGI scope
once the plugin's app has read them and starts its answer; the access log reads that same scope afterwards. (Airflow
releases that let uvicorn log the line log it when the answer starts, which is covered too.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

MASKED_PARAMS = ("code", "state")
"""The OAuth code can be exchanged for a token within minutes; the state is single-use and carries the form token."""
MASK = "***"


def masked_query(query: bytes, names: Sequence[str] = MASKED_PARAMS) -> bytes:
    """``query`` with the values of ``names`` replaced by ``***``; unchanged (byte for byte) when none is there."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if not any(key in names for key, _ in pairs):
        return query
    return urlencode([(key, MASK if key in names else value) for key, value in pairs]).encode("latin-1")


class QueryMasking:
    """ASGI middleware: masks the ``names`` query parameters in the request's scope as soon as the app starts its
    answer (by then it has read them), and again when it ends (an error may end it before any answer).

    :param app: the ASGI app to wrap.
    :param names: the query parameters to mask.
    """

    def __init__(self, app: ASGIApp, names: Sequence[str] = MASKED_PARAMS) -> None:
        self.app = app
        self.names = tuple(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_masked(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._mask(scope)
            await send(message)

        try:
            await self.app(scope, receive, send_masked)
        finally:
            self._mask(scope)

    def _mask(self, scope: Scope) -> None:
        scope["query_string"] = masked_query(scope.get("query_string", b""), self.names)


def install(app: FastAPI) -> None:
    """Mask the OAuth ``code`` and ``state`` of every request to ``app`` (the plugin's FastAPI app) in the access log.

    Call it before the app serves its first request (FastAPI builds its middleware stack then).
    """
    app.add_middleware(QueryMasking)
