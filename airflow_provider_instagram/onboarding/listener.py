"""A one-shot HTTP listener on loopback that catches the authorization redirect for the command line."""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_instagram.exceptions import OnboardingError
from airflow_provider_instagram.onboarding.chain import Redirect

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")  # IPv4: http.server's HTTPServer binds AF_INET


def listens_locally(redirect_uri: str) -> bool:
    """Whether the redirect URI points at this machine over plain HTTP, where a listener can catch it."""
    parts = urlsplit(redirect_uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS and parts.port is not None


class RedirectListener:
    """Serves the redirect URI's path on loopback until the redirect of *this* authorization arrives.

    Only a request carrying the ``state`` this command sent ends the wait: any page on this machine can send the
    browser to a loopback URL, and must not abort (or answer) the authorization. An error redirect without any
    ``state`` (whether Instagram echoes it on Deny is unconfirmed) is shown to the user, who stops the command;
    other paths get a 404.

    :param redirect_uri: the registered redirect URI, ``http://127.0.0.1:<port>/<path>``.
    :param state: the ``state`` this authorization sent.
    :param say: tells the terminal about a redirect that was ignored.
    """

    def __init__(self, redirect_uri: str, state: str, say: Callable[[str], None] = print) -> None:
        parts = urlsplit(redirect_uri)
        if not listens_locally(redirect_uri):
            raise OnboardingError(f"redirect URI {redirect_uri} is not http://127.0.0.1:<port>/...: paste the URL")
        self.path = parts.path or "/"
        self.state, self.say = state, say
        self._caught: Redirect | None = None
        self._arrived = threading.Event()
        host = "127.0.0.1" if parts.hostname == "localhost" else str(parts.hostname)
        try:
            self._server = HTTPServer((host, int(parts.port or 0)), self._handler())
        except OSError as exc:
            raise OnboardingError(f"cannot listen on {parts.netloc} for the redirect ({exc}): free the port, "
                                  "or pass --redirect-url with the URL the browser lands on") from exc  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5  # an idle connection (a browser's preconnect) must not hold the one-shot server

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != listener.path or listener._arrived.is_set():
                    self.send_error(404)
                    return
                redirect = Redirect.of_query({k: v[0] for k, v in parse_qs(parts.query).items()})
                if secrets.compare_digest(redirect.state or "", listener.state):
                    message = (
                        f"Instagram said: {redirect.error_description or redirect.error}" if redirect.error else
                        "Instagram sent the authorization back. You can close this window and return to the terminal."
                    )  # fmt: skip
                    self._answer(200, message)
                    listener._caught = redirect
                    listener._arrived.set()
                elif redirect.error and not redirect.state:
                    note = (f"A redirect said {redirect.error!r} without the state this command sent: if you denied "
                            "access, stop the command (Ctrl-C); it keeps waiting otherwise.")  # fmt: skip
                    listener.say(note)  # before the answer: whoever sent it may look at the terminal at once
                    self._answer(200, note)
                else:
                    self._answer(400, "This redirect does not belong to the running airflow-instagram connect.")

            def _answer(self, status: int, message: str) -> None:
                body = f"<!doctype html><title>airflow-instagram</title><p>{html.escape(message)}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # the query carries the code: never log it
                return

        return Handler

    def wait(self, timeout: float) -> Redirect:
        """Serve until the redirect arrives or ``timeout`` seconds pass; the listener is closed either way."""
        deadline = time.monotonic() + timeout
        self._server.timeout = 0.5
        try:
            while not self._arrived.is_set():
                if time.monotonic() > deadline:
                    raise OnboardingError(f"no redirect arrived within {timeout:.0f} s: run the command again")
                self._server.handle_request()
        finally:
            self._server.server_close()
        assert self._caught is not None
        return self._caught

    def close(self) -> None:
        self._server.server_close()
