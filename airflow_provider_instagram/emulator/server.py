"""Running the emulator: in a thread (context manager), or in the foreground (the CLI)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import requests
import uvicorn

from airflow_provider_instagram.emulator.app import create_app
from airflow_provider_instagram.emulator.backend import EmulatorBackend
from airflow_provider_instagram.emulator.config import EmulatorConfig


def _bind(host: str, port: int) -> socket.socket:
    # Bound and listening before uvicorn starts, so the port is known (port 0 picks a free one)
    # and connections made before the loop runs wait in the backlog instead of failing.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _server(backend: EmulatorBackend, started: threading.Event | None = None) -> uvicorn.Server:
    app = create_app(backend)

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if started is not None:
                        started.set()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    config = uvicorn.Config(lifespan_app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=30)
    return uvicorn.Server(config)


class InstagramEmulator:
    """The Instagram API emulator as a context manager, serving on loopback from a background thread.

    .. code-block:: python

        with InstagramEmulator(accounts=2, media=50, seed=7) as emulator:
            requests.get(f"{emulator.url}/me", params={"access_token": emulator.accounts[0]["access_token"]})

    :param config: a full :class:`EmulatorConfig`; keyword options override its fields.
    :param host: interface to bind (loopback by default).
    :param port: TCP port; 0 picks a free one.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, **options: Any
    ) -> None:
        base = config or EmulatorConfig()
        self.config = base.replace(**options) if options else base
        self.host = host
        self.port = port
        self.backend = EmulatorBackend(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def seed(self) -> dict[str, Any]:
        """Base URLs, app credentials and the seeded accounts with their long-lived tokens."""
        return self.backend.seed_info(self.url)

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return list(self.seed["accounts"])

    def start(self) -> InstagramEmulator:
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        started = threading.Event()
        self._server = _server(self.backend, started)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="instagram-emulator", daemon=True
        )
        self._thread.start()
        if not started.wait(timeout=30):
            raise RuntimeError("the Instagram emulator did not start within 30 s")
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
        self._server = self._thread = None

    def __enter__(self) -> InstagramEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_forever(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve in the foreground (the CLI); print one JSON line with URLs, credentials and tokens once ready."""
    backend = EmulatorBackend(config)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    started = threading.Event()
    server = _server(backend, started)

    def announce() -> None:
        if started.wait(timeout=60):
            print(json.dumps(backend.seed_info(f"http://{shown}:{bound}"), separators=(",", ":")), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])


class EmulatorClient:
    """A thin client for the control API, for tests and tools in another process than the emulator."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise RuntimeError(f"emulator control {method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def reset(self, **config: Any) -> dict[str, Any]:
        return dict(self._call("POST", "reset", config))

    def seed(self) -> dict[str, Any]:
        return dict(self._call("GET", "seed"))

    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "state"))

    def configure(self, **changes: Any) -> dict[str, Any]:
        return dict(self._call("PATCH", "config", changes))

    def advance_clock(self, seconds: float) -> float:
        return float(self._call("POST", "clock", {"advance": seconds})["now"])

    def now(self) -> datetime:
        """The emulator's clock (``GET /_emulator/clock``) as an aware UTC datetime: "now" for tests."""
        return datetime.fromtimestamp(float(self._call("GET", "clock")["now"]), UTC)

    def set_clock(self, when: datetime | float) -> datetime:
        """Set the emulator's clock to ``when`` (a datetime or Unix time); it runs on from there."""
        epoch = when.timestamp() if isinstance(when, datetime) else float(when)
        return datetime.fromtimestamp(float(self._call("POST", "clock", {"set": epoch})["now"]), UTC)

    def add_faults(self, *rules: dict[str, Any]) -> None:
        self._call("POST", "faults", {"rules": list(rules)})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def calls(self) -> dict[str, int]:
        return dict(self._call("GET", "calls")["calls"])

    def reset_calls(self) -> None:
        self._call("DELETE", "calls")

    def invalidate(self, user_id: str, reason: str = "password_changed") -> int:
        return int(self._call("POST", "tokens/invalidate", {"user_id": user_id, "reason": reason})["tokens"])

    def edit_media(self, media_id: str, **changes: Any) -> dict[str, Any]:
        """Change a media's ``like_count``, ``comments_count``, ``caption`` or ``id``; ``deleted=True`` deletes it."""
        return dict(self._call("POST", f"media/{media_id}", changes))

    def edit_account(self, account_id: str, **changes: Any) -> dict[str, Any]:
        """Change an account's ``followers_count`` or ``follows_count``."""
        return dict(self._call("POST", f"accounts/{account_id}", changes))

    def issue_code(self, user: str | None = None, redirect_uri: str | None = None, scope: str | None = None) -> str:
        return str(self._call("POST", "codes", {"user": user, "redirect_uri": redirect_uri, "scope": scope})["code"])

    def send_signed_request(self, url: str, user_id: str, app_secret: str | None = None) -> dict[str, Any]:
        return dict(self._call("POST", "signed_request", {"url": url, "user_id": user_id, "app_secret": app_secret}))
