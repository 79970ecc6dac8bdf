"""The OAuth callback's code and state stay out of the API server's access log: Airflow's own access-log middleware,
around a root app that mounts the plugin's app, as the API server composes them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import structlog
from airflow.api_fastapi.common.http_access_log import HttpAccessLogMiddleware
from fastapi import FastAPI, Request

from airflow_provider_instagram.plugin import access_log

CALLBACK = "/instagram/oauth/callback?code=SECRETCODE&state=SIGNEDSTATE&error_reason="


def api_server_like(*, masked: bool, fail: bool = False) -> FastAPI:
    """A plugin app under ``/instagram`` whose callback echoes what it read (or fails), in a root app with Airflow's
    access log."""
    plugin = FastAPI()

    @plugin.get("/oauth/callback")
    async def callback(request: Request) -> dict[str, Any]:
        if fail:
            raise RuntimeError("the chain broke")
        return dict(request.query_params)

    if masked:
        access_log.install(plugin)
    root = FastAPI()
    root.mount("/instagram", plugin)
    root.add_middleware(HttpAccessLogMiddleware)
    return root


def get(app: FastAPI, url: str, status: int = 200) -> tuple[Any, dict[str, Any]]:
    """The app's answer to ``GET url``, and the access log's one line for it."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://airflow") as client:
            return await client.get(url)

    with structlog.testing.capture_logs() as events:
        answer = asyncio.run(call())
    assert answer.status_code == status
    (line,) = [e for e in events if e.get("event") == "request finished"]
    return answer.json() if status == 200 else answer.text, line


def test_the_callback_reads_the_code_and_the_access_log_shows_it_masked() -> None:
    seen, line = get(api_server_like(masked=True), CALLBACK)
    assert seen == {"code": "SECRETCODE", "state": "SIGNEDSTATE", "error_reason": ""}
    assert line["path"] == "/instagram/oauth/callback"
    assert line["query"] == "code=%2A%2A%2A&state=%2A%2A%2A&error_reason="
    assert "SECRETCODE" not in str(line) and "SIGNEDSTATE" not in str(line)


def test_without_it_airflows_access_log_shows_the_code_and_the_state() -> None:
    """Why the plugin masks them itself: Airflow masks only keys that look secret to it (token, password...)."""
    _, line = get(api_server_like(masked=False), CALLBACK)
    assert "code=SECRETCODE" in line["query"] and "state=SIGNEDSTATE" in line["query"]


def test_an_answer_that_fails_is_masked_too() -> None:
    _, line = get(api_server_like(masked=True, fail=True), CALLBACK, status=500)
    assert line["status_code"] == 500 and line["query"].startswith("code=%2A%2A%2A&state=%2A%2A%2A")


@pytest.mark.parametrize(
    ("query", "masked"),
    [
        (b"code=abc&state=xyz", b"code=%2A%2A%2A&state=%2A%2A%2A"),
        (b"error=access_denied&error_reason=user_denied", b"error=access_denied&error_reason=user_denied"),
        (b"conn_id=ig%2Fa&code=abc", b"conn_id=ig%2Fa&code=%2A%2A%2A"),
        (b"", b""),
        (b"%zz=1&code", b"%25zz=1&code=%2A%2A%2A"),
    ],
    ids=["code-and-state", "nothing-to-mask-is-kept-byte-for-byte", "others-kept", "empty", "malformed"],
)
def test_masked_query(query: bytes, masked: bytes) -> None:
    assert access_log.masked_query(query) == masked
