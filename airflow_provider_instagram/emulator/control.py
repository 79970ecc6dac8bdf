"""The control API under ``/_emulator/``: reset, state, clock, faults, tokens, codes, callbacks, media, accounts.

Tests in other processes (a DAG run under a real scheduler) use it to steer the emulator.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import requests
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airflow_provider_instagram.emulator.backend import AuthorizeError, EmulatorBackend
from airflow_provider_instagram.emulator.signing import make_signed_request


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def _bad(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=400)


def control_routes(backend: EmulatorBackend) -> list[Route]:
    """Routes bound to ``backend``; every handler answers 400 with a reason on bad input."""

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def reset(request: Request) -> Response:
        try:
            changes = await _json_body(request)
            backend.reset(backend.config.replace(**changes) if changes else None)
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return JSONResponse(backend.seed_info(base(request)))

    async def seed(request: Request) -> Response:
        return JSONResponse(backend.seed_info(base(request)))

    async def state(request: Request) -> Response:
        return JSONResponse(backend.state())

    async def config(request: Request) -> Response:
        # Behaviour switches take effect at once; seed-shaping options (seed, accounts, media...) on reset.
        try:
            changes = await _json_body(request)
            backend.config = backend.config.replace(**changes)
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return JSONResponse(backend.config.to_dict())

    async def clock(request: Request) -> Response:
        try:
            body = await _json_body(request) if request.method == "POST" else {}
            if "advance" in body:
                backend.advance_clock(float(body["advance"]))
            elif "set" in body:
                backend.set_clock(float(body["set"]))
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return JSONResponse({"now": backend.now()})

    async def faults(request: Request) -> Response:
        try:
            if request.method == "DELETE":
                backend.faults.clear()
            elif request.method == "POST":
                body = await _json_body(request)
                backend.faults.add(body.get("rules") or [body])
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))
        return JSONResponse({"rules": backend.faults.describe()})

    async def calls(request: Request) -> Response:
        if request.method == "DELETE":
            backend.call_counts.clear()
        return JSONResponse({"calls": dict(backend.call_counts), "total": sum(backend.call_counts.values())})

    async def invalidate(request: Request) -> Response:
        try:
            body = await _json_body(request)
            account = backend.find_account(str(body.get("user_id") or body.get("username") or ""))
            count = backend.invalidate(account.id, str(body.get("reason", "password_changed")))
        except (LookupError, TypeError, ValueError) as exc:
            return _bad(str(exc))
        return JSONResponse({"user_id": account.id, "tokens": count})

    async def codes(request: Request) -> Response:
        """Issue an authorization code as if the user had clicked Allow (skips the browser in tests)."""
        try:
            body = await _json_body(request)
            account = backend.find_account(body.get("user"))
            default_scope = (
                "user_profile,user_media" if backend.config.api == "basic_display"
                else "instagram_business_basic,instagram_business_manage_insights"
            )  # fmt: skip
            redirect_uri, scopes = backend.validate_authorize({
                "client_id": backend.app.client_id, "response_type": "code",
                "redirect_uri": body.get("redirect_uri") or backend.app.redirect_uris[0],
                "scope": body.get("scope") or default_scope,
            })  # fmt: skip
        except (AuthorizeError, LookupError, TypeError, ValueError, IndexError) as exc:
            return _bad(str(exc))
        code = backend.issue_code(redirect_uri, account.id, scopes)
        return JSONResponse({"code": code, "user_id": account.id, "redirect_uri": redirect_uri})

    async def signed_request(request: Request) -> Response:
        """POST Meta's deauthorize or data-deletion ``signed_request`` to ``url`` and report the answer."""
        try:
            body = await _json_body(request)
            url = str(body["url"])
            account = backend.find_account(str(body.get("user_id") or ""))
        except (KeyError, LookupError, TypeError, ValueError) as exc:
            return _bad(f"needs 'url' and a known 'user_id': {exc}")
        now = int(backend.now())
        payload = {"algorithm": "HMAC-SHA256", "expires": now + 3600, "issued_at": now, "user_id": account.id}
        secret = str(body.get("app_secret") or backend.app.client_secret)
        signed = make_signed_request(payload, secret)
        try:
            answer = await asyncio.to_thread(requests.post, url, data={"signed_request": signed}, timeout=30)
        except requests.RequestException as exc:
            return JSONResponse({"error": f"could not reach {url}: {exc}", "signed_request": signed}, status_code=502)
        return JSONResponse({"status": answer.status_code, "body": answer.text, "signed_request": signed})

    async def media(request: Request) -> Response:
        """Change a media's counts, caption or id, or delete it (``{"deleted": true}``)."""
        try:
            body = await _json_body(request)
            return JSONResponse(backend.edit_media(request.path_params["media_id"], body))
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))

    async def account(request: Request) -> Response:
        """Change an account's ``followers_count`` or ``follows_count`` (e.g. below demographics' 100)."""
        try:
            body = await _json_body(request)
            return JSONResponse(backend.edit_account(request.path_params["account_id"], body))
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except (TypeError, ValueError) as exc:
            return _bad(str(exc))

    prefix = "/_emulator"
    return [
        Route(f"{prefix}/reset", reset, methods=["POST"]),
        Route(f"{prefix}/seed", seed, methods=["GET"]),
        Route(f"{prefix}/state", state, methods=["GET"]),
        Route(f"{prefix}/config", config, methods=["PATCH", "POST"]),
        Route(f"{prefix}/clock", clock, methods=["GET", "POST"]),
        Route(f"{prefix}/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{prefix}/calls", calls, methods=["GET", "DELETE"]),
        Route(f"{prefix}/tokens/invalidate", invalidate, methods=["POST"]),
        Route(f"{prefix}/codes", codes, methods=["POST"]),
        Route(f"{prefix}/signed_request", signed_request, methods=["POST"]),
        Route(f"{prefix}/media/{{media_id}}", media, methods=["POST"]),
        Route(f"{prefix}/accounts/{{account_id}}", account, methods=["POST"]),
    ]
