"""A fault-injecting HTTP proxy on loopback, put in front of a real Airflow API server to fail chosen requests."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}


@dataclass
class FaultRule:
    """Answer ``status`` to requests whose method matches and whose path (query included) matches ``path``.

    :param times: how many matching requests fail; ``None`` fails every one.
    """

    method: str
    path: str  # a regular expression, searched
    status: int = 503
    times: int | None = None
    fired: int = 0

    def take(self, method: str, path: str) -> bool:
        if method != self.method or not re.search(self.path, path):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass
class FaultyProxy:
    """Forwards everything to ``target`` except what a :class:`FaultRule` catches.

    :param target: base URL of the real server.
    """

    target: str
    rules: list[FaultRule] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, method: str, path: str, status: int = 503, times: int | None = None) -> FaultRule:
        rule = FaultRule(method, path, status, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def _decide(self, method: str, path: str) -> int | None:
        with self._lock:
            for rule in self.rules:
                if rule.take(method, path):
                    return rule.status
            return None

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.seen.append((method, path, status))

    def __enter__(self) -> FaultyProxy:
        proxy = self
        session = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = proxy._decide(self.command, self.path)
                if status is not None:
                    payload, headers = b'{"detail": "injected fault"}', {"content-type": "application/json"}
                else:
                    forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    answer = session.request(self.command, proxy.target + self.path, data=body, headers=forwarded,
                                             timeout=60, allow_redirects=False)  # fmt: skip
                    status, payload = answer.status_code, answer.content
                    headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
                proxy._record(self.command, self.path, status)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="faulty-proxy", daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
