"""The transport's retry loop, built once per transport and shared by the threads that use it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from airflow_provider_instagram.hooks.transport import InstagramTransport, RetryPolicy


class FlakySession:
    """Each thread's first two calls answer a transient error (code 2), its third succeeds; both threads are in
    their first call at the same time."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.together = threading.Barrier(2)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        attempt = getattr(self.local, "attempt", 0)
        self.local.attempt = attempt + 1
        if attempt == 0:
            self.together.wait(timeout=10)
        response = requests.Response()
        response.status_code = 503 if attempt < 2 else 200
        response._content = b'{"error": {"code": 2, "message": "try again"}}' if attempt < 2 else b'{"ok": true}'
        return response


def test_threads_sharing_a_transport_retry_each_call_on_its_own() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=3, initial_wait=0.01)
    transport = InstagramTransport(FlakySession(), timeout=5, policy=policy, sleep=sleeps.append)  # type: ignore[arg-type]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: transport.request("GET", "http://127.0.0.1:9/v25.0/me"), range(2)))
    assert answers == [{"ok": True}, {"ok": True}]
    assert transport.calls == 6 and len(sleeps) == 4, "two retries per call, no attempt counted twice"
