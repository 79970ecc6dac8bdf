"""A throwaway Redis server on loopback, from Debian's ``redis-server`` package: the Celery broker of the
distributed test (``make test-distributed`` installs the package).

It keeps nothing on disk (no RDB snapshot, no append-only file): a broker that dies with the test is what we want.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from airflow_provider_instagram.local_airflow.logs import log_tail
from airflow_provider_instagram.local_airflow.ports import free_port

INSTALL_FIX = "install it with: apt-get install -y redis-server (make test-distributed does this)"
POLL_SECONDS = 0.1


class RedisServer:
    """One ``redis-server`` on a free loopback port, in a temporary folder of its own.

    :param startup_timeout: seconds for the server to answer ``PING``.
    """

    def __init__(self, startup_timeout: float = 30.0) -> None:
        found = shutil.which("redis-server")
        if found is None:
            raise RuntimeError(f"redis-server not found on PATH; {INSTALL_FIX}")
        self.executable = found
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="instagram-redis-"))
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker URL Celery takes (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> RedisServer:
        """Start the server and wait until it answers ``PING``."""
        import redis

        command = [self.executable, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.root),
                   "--save", "", "--appendonly", "no", "--protected-mode", "yes"]  # fmt: skip
        with (self.root / "redis.log").open("wb") as out:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n"
                                   f"{log_tail(self.root / 'redis.log')}")  # fmt: skip
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    client.close()
                    return self
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING within {self.startup_timeout:.0f} s")
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        """Stop the server and remove its folder. Idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
