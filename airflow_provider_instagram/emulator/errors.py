"""Errors the emulator answers with, in Instagram's two formats."""

from __future__ import annotations

import secrets
from typing import Any


def new_trace_id() -> str:
    return "A" + secrets.token_urlsafe(16)[:22]


class GraphError(Exception):
    """A graph.instagram.com error: the ``{"error": {...}}`` envelope, HTTP 400 by default."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        status: int = 400,
        error_type: str = "OAuthException",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = status
        self.error_type = error_type
        self.headers = dict(headers or {})
        self.trace_id = new_trace_id()

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.code in (1, 2):
            error["is_transient"] = True
        error["fbtrace_id"] = self.trace_id
        return {"error": error}

    def response_headers(self) -> dict[str, str]:
        headers = {"X-Fb-Request-Id": self.trace_id, "X-Fb-Trace-Id": self.trace_id, **self.headers}
        if self.code == 190:
            headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{self.message}"'
        return headers


class OAuthError(Exception):
    """An api.instagram.com error in the old format: ``{error_type, code: 400, error_message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error_type": "OAuthException", "code": self.status, "error_message": self.message}


def invalid_token() -> GraphError:
    return GraphError(190, "Invalid OAuth access token.")


def missing_token() -> GraphError:
    return GraphError(104, "An access token is required to request this resource.")


def unknown_object(object_id: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        subcode=33,
        error_type="GraphMethodException",
    )


def invalid_parameter(detail: str) -> GraphError:
    return GraphError(100, f"(#100) {detail}")
