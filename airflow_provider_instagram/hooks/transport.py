"""HTTP for the hook: one pooled session, typed errors, tenacity retries, and rate-limit manners."""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from airflow_provider_instagram.exceptions import (
    AUTH_REASONS,
    InstagramAuthError,
    InstagramError,
    InstagramRateLimitError,
    InstagramRequestError,
    InstagramTransientError,
)

log = logging.getLogger(__name__)
_SECRET_PARAMS = re.compile(r"((?:access_token|client_secret|code|signed_request)=)[^&\s\"']+")


class RedactQuerySecrets(logging.Filter):
    """Rewrites log records that carry a URL so that token, secret and code values read ``***``.

    urllib3 logs every request line at DEBUG, query string included; paging URLs embed the token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = _SECRET_PARAMS.sub(r"\1***", text)
        if redacted != text:
            record.msg, record.args = redacted, ()
        return True


def install_log_redaction() -> None:
    """Attach the redaction filter to the loggers that print request URLs (once)."""
    for name in ("urllib3.connectionpool", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in logger.filters):
            logger.addFilter(RedactQuerySecrets())


RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
TRANSIENT_CODES = frozenset({1, 2})
AUTH_CODES = frozenset({102, 190})
DEFAULT_RATE_LIMIT_WAIT = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the hook tries before giving up.

    :param max_attempts: attempts per request, the first included.
    :param initial_wait: first back-off in seconds; doubles per attempt, with jitter.
    :param max_wait: cap of one back-off.
    :param total_timeout: give up retrying after this many seconds for one request.
    :param rate_limit_max_wait: wait out a rate limit up to this long; longer raises InstagramRateLimitError.
    :param slow_down_at: usage percent from which the hook pauses between calls.
    """

    max_attempts: int = 5
    initial_wait: float = 1.0
    max_wait: float = 30.0
    total_timeout: float = 300.0
    rate_limit_max_wait: float = 300.0
    slow_down_at: int = 90


def should_retry(exc: BaseException, policy: RetryPolicy) -> bool:
    """Transient errors are retried; rate limits only when their wait fits the cap; nothing else."""
    if isinstance(exc, InstagramRateLimitError):
        return exc.retry_after <= policy.rate_limit_max_wait
    return isinstance(exc, InstagramTransientError)


def backoff_seconds(attempt: int, exc: BaseException | None, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1``: the API's own wait for rate limits, else capped jittered doubling."""
    if isinstance(exc, InstagramRateLimitError):
        return float(exc.retry_after)
    ceiling = min(policy.max_wait, policy.initial_wait * 2.0 ** (attempt - 1))
    return ceiling * rng.uniform(0.5, 1.0)


def usage_from_headers(headers: Any) -> tuple[int | None, float | None]:
    """Highest usage percent in ``X-App-Usage``/``X-Business-Use-Case-Usage`` and the wait they announce (s).

    A missing header means "not reported", not 0 %.
    """
    percents: list[int] = []
    wait: float | None = None
    for name in ("x-app-usage", "x-business-use-case-usage"):
        raw = headers.get(name)
        if raw:
            found, announced = _header_usage(name, raw)
            percents += found
            if announced:
                wait = max(wait or 0.0, announced)
    return (max(percents) if percents else None), wait


@functools.lru_cache(maxsize=256)
def _header_usage(name: str, raw: str) -> tuple[tuple[int, ...], float | None]:
    """One usage header's percentages and the longest wait it announces (s). Cached: every answer carries the
    header, and its text changes only when a percentage does."""
    try:
        data = json.loads(raw)
    except ValueError:
        return (), None
    percents: list[int] = []
    wait: float | None = None
    entries: Iterable[dict[str, Any]] = [data] if name == "x-app-usage" else _buc_entries(data)
    for entry in entries:
        percents += [int(entry[k]) for k in ("call_count", "total_time", "total_cputime") if k in entry]
        minutes = entry.get("estimated_time_to_regain_access")
        if minutes:
            wait = max(wait or 0.0, float(minutes) * 60)
    return tuple(percents), wait


def _buc_entries(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return []
    return [e for entries in data.values() if isinstance(entries, list) for e in entries if isinstance(e, dict)]


def describe(method: str, url: str) -> str:
    """``GET /v25.0/me/media``: what error messages and logs may show of a request (never the query)."""
    return f"{method} {urlsplit(url).path or '/'}"


def error_from_response(response: requests.Response, endpoint: str) -> InstagramError:
    """Turn an error answer (Graph envelope, old OAuth body, HTML or garbage) into a typed error."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return _graph_error(body["error"], response, endpoint)
    if isinstance(body, dict) and "error_message" in body:
        return InstagramAuthError(
            f"Instagram refused the authorization: {body['error_message']}",
            reason=str(body["error_message"]), status=status, code=body.get("code"), endpoint=endpoint,
        )  # fmt: skip
    if status == 429:
        return InstagramRateLimitError(
            "Instagram answered HTTP 429", retry_after=_retry_after(response), status=status, endpoint=endpoint
        )
    if status >= 500 or body is None:
        kind = response.headers.get("content-type", "unknown content").split(";")[0]
        return InstagramTransientError(
            f"Instagram answered HTTP {status} with {kind}", status=status, endpoint=endpoint
        )
    return InstagramRequestError(f"Instagram answered HTTP {status}", status=status, endpoint=endpoint)


def _retry_after(response: requests.Response) -> float:
    try:
        return float(response.headers.get("retry-after", DEFAULT_RATE_LIMIT_WAIT))
    except ValueError:
        return DEFAULT_RATE_LIMIT_WAIT


def _graph_error(error: dict[str, Any], response: requests.Response, endpoint: str) -> InstagramError:
    code, subcode = error.get("code"), error.get("error_subcode")
    kwargs: dict[str, Any] = {
        "status": response.status_code, "code": code, "subcode": subcode,
        "fbtrace_id": error.get("fbtrace_id") or response.headers.get("x-fb-request-id"), "endpoint": endpoint,
    }  # fmt: skip
    message = str(error.get("message", "unknown error"))
    if code in AUTH_CODES:
        return InstagramAuthError(message, reason=_auth_reason(subcode, message), **kwargs)
    if code in RATE_LIMIT_CODES:
        _, wait = usage_from_headers(response.headers)
        return InstagramRateLimitError(message, retry_after=wait or _retry_after(response), **kwargs)
    if code in TRANSIENT_CODES or response.status_code >= 500:
        return InstagramTransientError(message, **kwargs)
    return InstagramRequestError(message, **kwargs)


def _auth_reason(subcode: int | None, message: str) -> str:
    if subcode in AUTH_REASONS:
        return AUTH_REASONS[subcode]
    lowered = message.lower()
    if "expired" in lowered:
        return AUTH_REASONS[463]
    if "changed their password" in lowered or "invalidated" in lowered:
        return AUTH_REASONS[460]
    if "not authorized application" in lowered:
        return AUTH_REASONS[458]
    return AUTH_REASONS[467]


class InstagramTransport:
    """Sends requests, retries what is worth retrying, and paces itself by the usage headers."""

    def __init__(
        self,
        session: requests.Session,
        *,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.policy = policy
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.calls = 0
        self.downloads = 0
        self._lock = threading.Lock()
        self.usage_percent: int | None = None
        install_log_redaction()
        # Built once, not per call (building it was about 4 % of an insights call's client CPU: see
        # benchmarks/insights.py). Tenacity keeps a call's attempts per thread, so threads may share the transport.
        self._retrying = Retrying(
            retry=retry_if_exception(lambda exc: should_retry(exc, self.policy)),
            wait=self._wait,
            stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.total_timeout),
            sleep=sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send with retries; return the decoded JSON body or raise a typed :class:`InstagramError`."""
        return self._retrying(self._send_once, method, url, describe(method, url), **kwargs)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return backoff_seconds(state.attempt_number, exc, self.policy, self.rng)

    def _log_retry(self, state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        exc = state.outcome.exception() if state.outcome else None
        endpoint = state.args[2]  # _send_once(method, url, endpoint, ...)
        log.warning(
            "Retry %d/%d for %s in %.2fs after: %s", state.attempt_number, self.policy.max_attempts - 1,
            endpoint, wait, exc,
        )  # fmt: skip

    def send(self, method: str, url: str, endpoint: str, api: bool = True, **kwargs: Any) -> requests.Response:
        """One call, no retries, no status check: the raw response (``stream=True`` leaves the body unread).

        ``api=False`` marks a download from the CDN: counted in ``downloads``, not in the API's ``calls``.
        """
        with self._lock:
            if api:
                self.calls += 1
            else:
                self.downloads += 1
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise InstagramTransientError(f"{type(exc).__name__} talking to Instagram", endpoint=endpoint) from None

    @staticmethod
    def chunks(response: requests.Response, endpoint: str, chunk_size: int) -> Iterator[bytes]:
        """A streamed body's chunks; a connection that breaks midway is an :class:`InstagramTransientError`."""
        try:
            yield from response.iter_content(chunk_size)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise InstagramTransientError(f"{type(exc).__name__} reading from Instagram", endpoint=endpoint) from None

    def _send_once(self, method: str, url: str, endpoint: str, **kwargs: Any) -> Any:
        response = self.send(method, url, endpoint, **kwargs)
        content = response.content  # already read: without stream=True, send() fails on a broken body
        self._pace(response)
        if response.status_code >= 400:
            raise error_from_response(response, endpoint)
        try:
            return json.loads(content)
        except ValueError:
            raise InstagramTransientError(
                f"Instagram answered HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code, endpoint=endpoint,
            ) from None  # fmt: skip

    def _pace(self, response: requests.Response) -> None:
        percent, _ = usage_from_headers(response.headers)
        if percent is None:
            return
        self.usage_percent = percent
        if response.status_code < 400 and percent >= self.policy.slow_down_at:
            pause = min(self.policy.max_wait, float(percent - self.policy.slow_down_at + 1))
            log.warning("Instagram API usage is at %d%%; pausing %.1fs to stay under the limit", percent, pause)
            self.sleep(pause)
