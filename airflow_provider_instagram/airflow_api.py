"""A small client of Airflow's public REST API: the one write path tasks (and commands off the Airflow host) have.

Tasks cannot write Connections to the metadata database in Airflow 3; the API server can. Secrets are read
through the task SDK (the REST API masks them) and written with ``PATCH /api/v2/connections/{id}``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from airflow_provider_instagram import __version__
from airflow_provider_instagram.exceptions import TokenNotWritableError, TokenStoreError

log = logging.getLogger(__name__)

DEFAULT_API_CONN_ID = "airflow_api_default"
BULK_SIZE = 50
PERMISSION_FIX = (
    "give it permission to read and edit connections (simple auth manager: role OP or ADMIN; "
    "FAB auth manager: a role with can_read and can_edit on Connections)"
)


class _Retryable(Exception):
    """An answer worth another attempt (5xx, 429, an expired JWT, a dropped connection)."""


class AirflowApiClient:
    """A small client of Airflow's public REST API: JWT login, connection listing, reading and patching.

    :param base_url: the API server, e.g. ``http://localhost:8080``.
    :param username: a user allowed to read and edit connections.
    :param password: its password.
    :param api_conn_id: the connection the credentials came from (named in error messages).
    :param verify: TLS verification, as in ``requests``.
    :param timeout: seconds per request.
    :param attempts: attempts per request, the first included.
    :param retry_wait: seconds of the first wait between attempts (doubling, jittered, capped at 10 s).
    :param sleep: how to wait between attempts (injected by tests).
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        api_conn_id: str = DEFAULT_API_CONN_ID,
        verify: bool | str = True,
        timeout: float = 30.0,
        attempts: int = 5,
        retry_wait: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self.api_conn_id = api_conn_id
        self.timeout = timeout
        self.attempts, self.retry_wait = attempts, retry_wait
        self._sleep = sleep
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers["User-Agent"] = f"airflow-provider-instagram/{__version__}"
        self._jwt: str | None = None
        self._lock = threading.Lock()
        self.calls = 0

    @classmethod
    def from_connection(cls, api_conn_id: str = DEFAULT_API_CONN_ID, **kwargs: Any) -> AirflowApiClient:
        """Build from an Airflow connection: host (URL or host name), port, login, password, and extras ``verify``
        (true/false or a CA bundle), ``attempts`` (per request, default 5) and ``retry_wait`` (seconds of the
        first wait between attempts, default 0.5, doubling up to 10)."""
        from airflow.sdk import BaseHook

        try:
            conn = BaseHook.get_connection(api_conn_id)
        except Exception as exc:
            raise TokenStoreError(
                f"No connection {api_conn_id!r} for the Airflow REST API ({exc}). Create it with host = the API "
                "server URL (e.g. http://localhost:8080), login and password of a user allowed to edit connections"
            ) from exc
        if not conn.host or not conn.login or not conn.password:
            raise TokenStoreError(
                f"Connection {api_conn_id!r} needs host (the API server URL), login and password; "
                f"it has {', '.join(n for n in ('host', 'login', 'password') if getattr(conn, n)) or 'none of them'}"
            )
        extra = conn.extra_dejson or {}
        verify = _verify_setting(extra, api_conn_id)
        try:
            kwargs.setdefault("attempts", max(1, int(extra.get("attempts", 5))))
            kwargs.setdefault("retry_wait", max(0.0, float(extra.get("retry_wait", 0.5))))
        except (TypeError, ValueError):
            raise TokenStoreError(
                f"Connection {api_conn_id!r}: extras 'attempts' (a whole number) and 'retry_wait' (seconds) must be "
                f"numbers; they are {extra.get('attempts')!r} and {extra.get('retry_wait')!r}"
            ) from None
        base_url = _base_url(conn)
        log.info("Airflow REST API of connection %s: %s", api_conn_id, base_url)
        return cls(base_url, conn.login, conn.password, api_conn_id=api_conn_id, verify=verify, **kwargs)

    # ------------------------------------------------------------------ HTTP
    def token(self) -> str:
        """The JWT this client calls with (logging in first if it has none yet)."""
        return self._token()

    def _token(self, renew: bool = False) -> str:
        with self._lock:
            if self._jwt is None or renew:
                answer = self._send("POST", "/auth/token", json={"username": self.username, "password": self._password})
                if answer.status_code in (401, 403):
                    raise TokenStoreError(
                        f"The Airflow API at {self.base_url} refused the login of connection {self.api_conn_id!r} "
                        f"(HTTP {answer.status_code}): check its login and password"
                    )
                if answer.status_code >= 400:
                    raise _Retryable(f"POST /auth/token answered HTTP {answer.status_code}")
                self._jwt = str(answer.json()["access_token"])
            return self._jwt

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        self.calls += 1
        try:
            timeout = kwargs.pop("timeout", self.timeout)
            answer = self.session.request(method, f"{self.base_url}{path}", timeout=timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Retryable(f"{type(exc).__name__} talking to the Airflow API at {self.base_url}") from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise _Retryable(f"{method} {path} answered HTTP {answer.status_code}")
        return answer

    def _attempt(self, method: str, path: str, kwargs: dict[str, Any]) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token()}"}
        answer = self._send(method, path, headers=headers, **kwargs)
        if answer.status_code == 401:  # the JWT expired: log in again on the next attempt
            with self._lock:
                self._jwt = None
            raise _Retryable(f"{method} {path} answered HTTP 401")
        return answer

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send with a JWT, retrying connection errors, 5xx, 429 and an expired JWT; 4xx answers are returned."""
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            wait=wait_exponential(multiplier=self.retry_wait, max=10.0) + wait_random(0, self.retry_wait),
            stop=stop_after_attempt(self.attempts),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, path, kwargs)
        except _Retryable as exc:
            raise TokenStoreError(
                f"{exc} after {self.attempts} attempts. Is the API server running, and is the host of "
                f"connection {self.api_conn_id!r} ({self.base_url}) right?"
            ) from None

    def _check(self, answer: requests.Response, what: str, conn_id: str) -> dict[str, Any]:
        if answer.status_code == 404:
            raise TokenNotWritableError(
                f"Connection {conn_id!r} is not in Airflow's metadata database (it comes from an environment "
                "variable or a secrets backend), so its token cannot be written back. Fix: create it in the "
                "metadata database (UI Admin > Connections, or `airflow connections add`), or set its extra "
                "auto_refresh to false and refresh the token where it is stored"
            )
        if answer.status_code == 403:
            raise TokenStoreError(
                f"The Airflow API user {self.username!r} (connection {self.api_conn_id!r}) may not {what} "
                f"connection {conn_id!r}: {PERMISSION_FIX}"
            )
        if answer.status_code >= 400:
            raise TokenStoreError(
                f"Could not {what} connection {conn_id!r}: HTTP {answer.status_code} {_detail(answer)}"
            )
        body: dict[str, Any] = answer.json()
        return body

    # ------------------------------------------------------------------ connections
    def iter_connections(self, page_size: int = 100, **filters: str) -> Iterator[dict[str, Any]]:
        """Every connection in the metadata database (matching ``filters``, such as ``connection_id_pattern``),
        page by page (the server may cap ``page_size``)."""
        offset = 0
        while True:
            query = {"limit": page_size, "offset": offset, "order_by": "connection_id", **filters}
            body = self._check(self.request("GET", "/api/v2/connections", params=query), "list", "*")
            page = body.get("connections") or []
            yield from page
            offset += len(page)
            if not page or offset >= int(body.get("total_entries") or 0):
                return

    def get_connection(self, conn_id: str) -> dict[str, Any]:
        return self._check(self.request("GET", f"/api/v2/connections/{_quote(conn_id)}"), "read", conn_id)

    def bulk_update_connections(self, entities: Sequence[Mapping[str, Any]]) -> set[str]:
        """Update many connections in one request (one transaction); the ids the server reports as updated.

        Each entity carries ``connection_id``, ``conn_type`` and only the fields to change. Unknown ids are
        skipped, not failed, so that the others still land.
        """
        action = {"action": "update", "entities": list(entities), "action_on_non_existence": "skip"}
        body = self._check(self.request("PATCH", "/api/v2/connections", json={"actions": [action]}), "edit", "*")
        return {str(conn_id) for conn_id in (body.get("update") or {}).get("success") or []}

    def patch_connection(self, conn_id: str, conn_type: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Update exactly ``fields`` (``update_mask`` is a repeated parameter: one comma-joined value does nothing)."""
        body = {"connection_id": conn_id, "conn_type": conn_type, **fields}
        params = [("update_mask", name) for name in fields]
        answer = self.request("PATCH", f"/api/v2/connections/{_quote(conn_id)}", params=params, json=body)
        return self._check(answer, "edit", conn_id)

    def find_connection(self, conn_id: str) -> dict[str, Any] | None:
        """The connection as the API answers it (secrets as ``***``), or ``None`` when it does not exist."""
        answer = self.request("GET", f"/api/v2/connections/{_quote(conn_id)}")
        return None if answer.status_code == 404 else self._check(answer, "read", conn_id)

    def find_connections(self, conn_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The connections that exist among ``conn_ids``, read in bulk: one listing filtered by an OR of the ids
        (``connection_id_pattern``, a substring match: the answer is filtered to exact ids), then one GET for each
        id the listing did not return (Airflow versions without ``|`` in patterns, ids with pattern characters).
        """
        wanted = list(dict.fromkeys(conn_ids))
        found: dict[str, dict[str, Any]] = {}
        plain = [c for c in wanted if not set(c) & {"|", "%", "~"}]
        if len(plain) > 1:
            pattern = "|".join(plain)
            for conn in self.iter_connections(connection_id_pattern=pattern):
                if conn.get("connection_id") in wanted:
                    found[str(conn["connection_id"])] = conn
        for conn_id in wanted:
            if conn_id not in found and (single := self.find_connection(conn_id)) is not None:
                found[conn_id] = single
        return found

    def create_connection(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /api/v2/connections``; ``body`` carries ``connection_id``, ``conn_type`` and the fields."""
        answer = self.request("POST", "/api/v2/connections", json=dict(body))
        return self._check(answer, "create", str(body.get("connection_id")))


def _verify_setting(extra: Mapping[str, Any], api_conn_id: str) -> bool | str:
    """Extra ``verify``: true/false (also as text), or the path of a CA bundle."""
    value = extra.get("verify", True)
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in ("true", "1", "yes", "on", ""):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    if not os.path.exists(text):
        raise TokenStoreError(
            f"Connection {api_conn_id!r}: extra 'verify' is {text!r}, neither true/false nor an existing CA bundle "
            "file; fix it"
        )
    return text


def _base_url(conn: Any) -> str:
    """The API server's URL from a connection's host (a URL, or a bare host name) and port.

    A bare host name gets ``https://``: the credentials and the tokens written back must not cross a network in
    clear text. Only loopback defaults to ``http://``; the schema field (``http``/``https``) overrides both.
    """
    host = str(conn.host).strip().rstrip("/")
    if "://" in host:
        return host
    name, port = _split_host(host)
    scheme = "http" if _loopback(name) else "https"
    if conn.schema in ("http", "https"):
        scheme = conn.schema
    shown = f"[{name}]" if ":" in name else name
    port = conn.port or port
    return f"{scheme}://{shown}:{port}" if port else f"{scheme}://{shown}"


def _split_host(host: str) -> tuple[str, int | None]:
    """``name`` and port of ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    name, colon, port = host.partition(":")
    if colon and ":" not in port and port.isdigit():
        return name, int(port)
    return host, None


def _loopback(name: str) -> bool:
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _quote(conn_id: str) -> str:
    return quote(conn_id, safe="")


def _detail(answer: requests.Response) -> str:
    """What went wrong, without echoing the request (FastAPI's 422 details repeat the input, secrets included)."""
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail if isinstance(d, dict)
        )
    return str(detail)[:300] if isinstance(detail, str) else ""
