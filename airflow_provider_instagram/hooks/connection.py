"""An ``instagram`` connection (and its optional app connection) as the hook's checked HTTP parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.exceptions import InstagramConfigError

DEFAULT_GRAPH_URL = "https://graph.instagram.com"
DEFAULT_OAUTH_URL = "https://api.instagram.com"
DEFAULT_API_VERSION = "v25.0"
DEFAULT_TIMEOUT = 30.0
AUTHORIZE_URLS = {
    "instagram_login": "https://www.instagram.com/oauth/authorize",
    "basic_display": "https://api.instagram.com/oauth/authorize",
}
ApiFlavour = Literal["instagram_login", "basic_display"]
_VERSION = re.compile(r"^v\d+\.\d+$")


@dataclass(frozen=True)
class ConnectionParams:
    """Everything the hook needs from its connection(s), checked once."""

    conn_id: str
    graph_url: str
    oauth_url: str
    authorize_url: str
    api: ApiFlavour
    api_version: str
    timeout: float
    client_id: str | None
    client_secret: str | None = field(repr=False)
    redirect_uri: str | None
    access_token: str | None = field(repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def versioned_url(self) -> str:
        return f"{self.graph_url}/{self.api_version}" if self.api_version else self.graph_url

    def require(self, name: str, value: str | None, fix: str) -> str:
        if not value:
            raise InstagramConfigError(f"Connection {self.conn_id!r} has no {name}: {fix}")
        return value


def _url(value: Any, conn_id: str, name: str, default: str) -> str:
    if value in (None, ""):
        return default
    text = str(value).strip().rstrip("/")
    if "://" not in text:
        text = "https://" + text
    if not re.match(r"^https?://[^/\s]+", text):
        raise InstagramConfigError(f"Connection {conn_id!r}: {name} {text!r} is not a URL; use e.g. {default}")
    return text


def _api(value: Any, conn_id: str) -> ApiFlavour:
    api = value or "instagram_login"
    if api not in AUTHORIZE_URLS:
        raise InstagramConfigError(
            f"Connection {conn_id!r}: extra 'api' is {api!r}; set it to 'instagram_login' or 'basic_display'"
        )
    return "basic_display" if api == "basic_display" else "instagram_login"


def _version(value: Any, conn_id: str) -> str:
    version = DEFAULT_API_VERSION if value is None else str(value).strip()
    if version and not _VERSION.match(version):
        raise InstagramConfigError(
            f"Connection {conn_id!r}: extra 'api_version' is {version!r}; use a version such as "
            f"{DEFAULT_API_VERSION!r}, or an empty string for unversioned paths"
        )
    return version


def _timeout(value: Any, conn_id: str) -> float:
    if value in (None, ""):
        return DEFAULT_TIMEOUT
    try:
        timeout = float(value)
    except (TypeError, ValueError):
        timeout = -1.0
    if timeout <= 0:
        raise InstagramConfigError(f"Connection {conn_id!r}: extra 'timeout' is {value!r}; use seconds, e.g. 30")
    return timeout


def build_params(conn: Any, app_conn: Any | None, own_extra: Mapping[str, Any] | None = None) -> ConnectionParams:
    """Merge the account connection over its app connection over defaults; check every field.

    :param own_extra: the account connection's extras, where the caller already parsed them.
    :raises InstagramConfigError: a field is missing its value or malformed; the message names connection and field.
    """
    conn_id = conn.conn_id
    own = dict(own_extra) if own_extra is not None else keys.parse_extras(conn.extra, conn_id)
    app = keys.parse_extras(app_conn.extra, app_conn.conn_id) if app_conn is not None else {}

    def pick(name: str) -> Any:
        mine = keys.text_field(own, name, conn_id)
        return mine if mine is not None else keys.text_field(app, name, app_conn.conn_id if app_conn else conn_id)

    api = _api(pick(keys.API), conn_id)
    client_id = conn.login or (app_conn.login if app_conn is not None else None)
    secret = keys.text_field(own, keys.CLIENT_SECRET, conn_id) or (keys.app_secret(app_conn) if app_conn else None)
    host = conn.host or (app_conn.host if app_conn is not None else None)
    version = own.get(keys.API_VERSION, app.get(keys.API_VERSION))
    return ConnectionParams(
        conn_id=conn_id,
        graph_url=_url(host, conn_id, "host (Graph API base URL)", DEFAULT_GRAPH_URL),
        oauth_url=_url(pick(keys.OAUTH_URL), conn_id, "extra 'oauth_url'", DEFAULT_OAUTH_URL),
        authorize_url=_url(pick(keys.AUTHORIZE_URL), conn_id, "extra 'authorize_url'", AUTHORIZE_URLS[api]),
        api=api,
        api_version=_version(version, conn_id),
        timeout=_timeout(pick(keys.TIMEOUT), conn_id),
        client_id=str(client_id) if client_id else None,
        client_secret=secret or None,
        redirect_uri=pick(keys.REDIRECT_URI) or None,
        access_token=conn.password or None,
        extra=own,
    )
