"""The Instagram hook: the token chain and the media endpoints of Instagram's user-token API.

.. seealso:: https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests
from airflow.sdk import BaseHook

from airflow_provider_instagram import __version__
from airflow_provider_instagram._compat import cached_property
from airflow_provider_instagram.account import extras as keys
from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.exceptions import InstagramError, InstagramMediaUrlExpiredError, InstagramRequestError
from airflow_provider_instagram.hooks.connection import ConnectionParams, build_params
from airflow_provider_instagram.hooks.transport import InstagramTransport, RetryPolicy, describe, error_from_response
from airflow_provider_instagram.insights.answers import (
    INSIGHTS_PERMISSION,
    InsightValue,
    insights_error,
    parse_insights,
)
from airflow_provider_instagram.masking import mask

if TYPE_CHECKING:
    import pandas as pd

SHORT_LIVED_SECONDS = 3_600
DEFAULT_SCOPES = {
    "instagram_login": ("instagram_business_basic", INSIGHTS_PERMISSION),
    "basic_display": ("user_profile", "user_media"),
}
CHILD_FIELDS = "id,media_type,media_url,thumbnail_url"
MEDIA_FIELDS = {
    "instagram_login": (
        "id,caption,media_type,media_product_type,media_url,permalink,thumbnail_url,timestamp,username,"
        f"like_count,comments_count,shortcode,is_comment_enabled,children{{{CHILD_FIELDS},shortcode}}"
    ),
    "basic_display": (
        f"id,caption,media_type,media_url,permalink,thumbnail_url,timestamp,username,children{{{CHILD_FIELDS}}}"
    ),
}
PROFILE_FIELDS = {
    "instagram_login": (
        "id,user_id,username,name,account_type,profile_picture_url,followers_count,follows_count,media_count"
    ),
    "basic_display": "id,username,account_type,media_count",
}


@dataclass(frozen=True)
class InstagramToken:
    """A token Instagram issued; its string never appears in ``repr`` or logs.

    :param access_token: the token string.
    :param user_id: the app-scoped user id, where Instagram said it.
    :param expires_in: lifetime in seconds as issued.
    :param expires_at: absolute expiry (UTC).
    :param permissions: granted permissions, where Instagram said them.
    """

    access_token: str = field(repr=False)
    user_id: str | None
    expires_in: int | None
    expires_at: datetime | None
    token_type: str = "bearer"
    permissions: tuple[str, ...] = ()

    @classmethod
    def issued(cls, token: str, expires_in: int | None, now: datetime, **kwargs: Any) -> InstagramToken:
        """A token issued at ``now`` for ``expires_in`` seconds."""
        expires_at = now + timedelta(seconds=expires_in) if expires_in else None
        return cls(access_token=token, expires_in=expires_in, expires_at=expires_at, **kwargs)


def _unix(value: datetime | date | int | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _stamp(epoch: int) -> str:
    # Instagram's timestamps compare correctly as strings in this exact form.
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(epoch))


class InstagramHook(BaseHook):
    """Talk to Instagram's user-token API (Instagram API with Instagram Login, or Basic Display).

    Nothing happens at construction: the connection is read on first use.

    :param instagram_conn_id: the ``instagram`` connection holding the account's long-lived token.
    :param retry_policy: retries, back-off and rate-limit waits (see :class:`RetryPolicy`).
    :param sleep: how to wait (injected by tests).
    :param clock: "now", from which issued tokens' expiries count (injected by tests).
    :param connection: the account's connection when the caller already read it (saves one lookup per hook).
    :param connection_extra: that connection's extras, when the caller already parsed them.
    :param app_connection: the app connection the account names (extra ``app_conn_id``), when the caller already
        read it (the Instagram page does, in the API server).
    """

    conn_name_attr = "instagram_conn_id"
    default_conn_name = "instagram_default"
    conn_type = keys.CONN_TYPE
    hook_name = "Instagram"

    def __init__(
        self,
        *,
        instagram_conn_id: str = default_conn_name,
        retry_policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = utcnow,
        connection: Any | None = None,
        connection_extra: Mapping[str, Any] | None = None,
        app_connection: Any | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.instagram_conn_id = instagram_conn_id
        self._connection = connection
        self._connection_extra = connection_extra if connection is not None else None
        self._app_connection = app_connection
        self.retry_policy = retry_policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock

    # ------------------------------------------------------------------ connection
    @cached_property
    def params(self) -> ConnectionParams:
        """The checked connection parameters (account connection over its app connection)."""
        conn = self._connection if self._connection is not None else self.get_connection(self.instagram_conn_id)
        own = self._connection_extra
        own = dict(own) if own is not None else keys.parse_extras(conn.extra, conn.conn_id)
        app_conn_id = keys.text_field(own, keys.APP_CONN_ID, conn.conn_id)
        app_conn = None
        if app_conn_id:
            given = self._app_connection
            app_conn = given if given is not None and given.conn_id == app_conn_id else self.get_connection(app_conn_id)
        params = build_params(conn, app_conn, own)
        for secret in (params.access_token, params.client_secret):
            mask(secret)
        return params

    def get_conn(self) -> requests.Session:
        """The hook's pooled session."""
        return self.session

    @cached_property
    def session(self) -> requests.Session:
        """One pooled session. The environment's proxy and CA-bundle settings are read once, here: left to
        ``requests`` (``trust_env``), they are read again from the whole environment on every call, which costs
        more CPU than the JSON of a page."""
        session = requests.Session()
        session.headers["User-Agent"] = f"airflow-provider-instagram/{__version__}"
        session.proxies.update(requests.utils.get_environ_proxies(self.params.graph_url))
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        session.trust_env = False
        return session

    @cached_property
    def transport(self) -> InstagramTransport:
        return InstagramTransport(
            self.session, timeout=self.params.timeout, policy=self.retry_policy, sleep=self._sleep
        )

    @property
    def api_calls(self) -> int:
        """HTTP calls made so far, retries included."""
        return self.transport.calls if "transport" in self.__dict__ else 0

    def _token(self, token: str | None = None) -> str:
        return token or self.params.require(
            "access token (password)", self.params.access_token,
            "run the token chain (InstagramHook.get_long_lived_token) or put a long-lived token in the password field",
        )  # fmt: skip

    def _get(self, path: str, params: dict[str, Any], token: str | None = None) -> Any:
        query = {**params, "access_token": self._token(token)}
        return self.transport.request("GET", f"{self.params.versioned_url}/{path}", params=query)

    # ------------------------------------------------------------------ token chain
    def get_authorization_url(self, state: str, scopes: Sequence[str] | None = None) -> str:
        """The authorization-window URL to send the user to; ``state`` comes back on the redirect."""
        p = self.params
        client_id = p.require("app id (login)", p.client_id, "set the Instagram app id as the login")
        redirect_uri = p.require("redirect_uri", p.redirect_uri, "set extra 'redirect_uri' to the registered URI")
        query = {
            "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
            "scope": ",".join(scopes or DEFAULT_SCOPES[p.api]), "state": state,
        }  # fmt: skip
        return f"{p.authorize_url}?{urlencode(query)}"

    def exchange_code(self, code: str) -> InstagramToken:
        """Authorization code -> short-lived (1 hour) token. A trailing ``#_`` is stripped."""
        p = self.params
        form = {
            "client_id": p.require("app id (login)", p.client_id, "set the Instagram app id as the login"),
            "client_secret": self._secret(),
            "grant_type": "authorization_code",
            "redirect_uri": p.require("redirect_uri", p.redirect_uri, "set extra 'redirect_uri'"),
            "code": code.strip().removesuffix("#_"),
        }
        body = self.transport.request("POST", f"{p.oauth_url}/oauth/access_token", data=form)
        entry = body["data"][0] if isinstance(body.get("data"), list) and body["data"] else body
        mask(entry["access_token"])
        permissions = _permissions(entry)
        user_id = str(entry["user_id"]) if entry.get("user_id") is not None else None
        return InstagramToken.issued(
            entry["access_token"], SHORT_LIVED_SECONDS, self._clock(), user_id=user_id, permissions=permissions
        )

    def exchange_for_long_lived_token(self, short_lived_token: str) -> InstagramToken:
        """Short-lived token -> long-lived (60-day) token; needs the app secret."""
        body = self._get("access_token", {"grant_type": "ig_exchange_token", "client_secret": self._secret()},
                         token=short_lived_token)  # fmt: skip
        return self._long_lived(body, None)

    def get_long_lived_token(self, code: str) -> InstagramToken:
        """The whole chain in one call: authorization code -> long-lived token (with the user id)."""
        short = self.exchange_code(code)
        return replace(self.exchange_for_long_lived_token(short.access_token), user_id=short.user_id)

    def refresh_long_lived_token(self, token: str | None = None) -> InstagramToken:
        """Refresh a long-lived token (at least 24 h old, unexpired); valid 60 days from now."""
        body = self._get("refresh_access_token", {"grant_type": "ig_refresh_token"}, token=token)
        return self._long_lived(body, None)  # Instagram's answer names no user

    def _long_lived(self, body: dict[str, Any], user_id: str | None) -> InstagramToken:
        mask(body["access_token"])
        permissions = _permissions(body)
        return InstagramToken.issued(
            body["access_token"], int(body["expires_in"]) if body.get("expires_in") else None, self._clock(),
            user_id=user_id, token_type=body.get("token_type", "bearer"), permissions=permissions,
        )  # fmt: skip

    def _secret(self) -> str:
        return self.params.require(
            "app secret", self.params.client_secret,
            "set extra 'client_secret', or extra 'app_conn_id' naming a connection that holds it",
        )  # fmt: skip

    # ------------------------------------------------------------------ data
    def get_profile(self, fields: Sequence[str] | None = None, *, token: str | None = None) -> dict[str, Any]:
        """The account's profile (``/me``), with the connection's token or ``token`` (one just issued)."""
        return dict(self._get("me", {"fields": self._fields(fields, PROFILE_FIELDS)}, token=token))

    def get_media(self, media_id: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """One media item, children expanded by default."""
        return dict(self._get(media_id, {"fields": self._fields(fields, MEDIA_FIELDS)}))

    def get_children(self, media_id: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A carousel's children (``iter_media`` already expands them at no extra call)."""
        return list(self._get(f"{media_id}/children", {"fields": ",".join(fields) if fields else CHILD_FIELDS})["data"])

    def refresh_media_urls(self, media_id: str) -> dict[str, Any]:
        """Re-read a media's expiring ``media_url``/``thumbnail_url`` (and its children's)."""
        return self.get_media(media_id, ["id", "media_url", "thumbnail_url", f"children{{{CHILD_FIELDS}}}"])

    @contextmanager
    def open_media_file(self, url: str, chunk_size: int = 1 << 16) -> Iterator[Iterator[bytes]]:
        """Stream a media file's bytes from its signed CDN URL, as chunks.

        Raises :class:`InstagramMediaUrlExpiredError` on HTTP 403 (re-read the URL with :meth:`refresh_media_urls`),
        :class:`InstagramTransientError` on 5xx and broken connections. The URL is never logged.
        """
        endpoint = describe("GET", url)
        response = self.transport.send("GET", url, endpoint, api=False, stream=True)
        try:
            if response.status_code == 403:
                reason = response.text[:80].strip() or "forbidden"
                raise InstagramMediaUrlExpiredError(f"the CDN refused the media URL: {reason}", status=403,
                                                    endpoint=endpoint)  # fmt: skip
            if response.status_code >= 400:
                raise error_from_response(response, endpoint)
            yield self.transport.chunks(response, endpoint, chunk_size)
        finally:
            response.close()

    def _fields(self, fields: Sequence[str] | None, defaults: dict[str, str]) -> str:
        return ",".join(fields) if fields else defaults[self.params.api]

    def iter_media_pages(
        self,
        fields: Sequence[str] | None = None,
        since: datetime | date | int | None = None,
        until: datetime | date | int | None = None,
        page_size: int = 100,
        max_pages: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of media, newest first, following ``paging.next`` as given; ``since <= timestamp < until``."""
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be between 1 and 100")
        start, end = _unix(since), _unix(until)
        query: dict[str, Any] = {"fields": self._fields(fields, MEDIA_FIELDS), "limit": page_size}
        query.update({k: v for k, v in (("since", start), ("until", end)) if v is not None})
        low, high = (_stamp(start) if start is not None else None), (_stamp(end) if end is not None else None)
        page = self._get("me/media", query)
        pages = 0
        while True:
            pages += 1
            items = page.get("data") or []
            if low is not None or high is not None:
                items = [m for m in items if _in_window(m.get("timestamp"), low, high)]
            yield items
            next_url = (page.get("paging") or {}).get("next")
            if not next_url or (max_pages is not None and pages >= max_pages):
                return
            page = self.transport.request("GET", next_url)  # already carries token, fields and cursor

    def iter_media(self, fields: Sequence[str] | None = None, since: datetime | date | int | None = None,
                   until: datetime | date | int | None = None, page_size: int = 100,
                   max_pages: int | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
        """Every media item, pages read lazily, carousel children expanded in the same call."""
        for page in self.iter_media_pages(fields, since, until, page_size, max_pages):
            yield from page

    def iter_stories(self, fields: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """The account's live stories (``/me/stories``: the last 24 hours only; Instagram drops a story, and its
        insights unless it is in a highlight, after that: poll at least daily)."""
        page = self._get("me/stories", {"fields": self._fields(fields, MEDIA_FIELDS)})
        while True:
            yield from page.get("data") or []
            next_url = (page.get("paging") or {}).get("next")
            if not next_url:
                return
            page = self.transport.request("GET", next_url)

    def get_media_dataframe(self, since: datetime | date | int | None = None,
                            until: datetime | date | int | None = None) -> pd.DataFrame:  # fmt: skip
        """The media as a typed DataFrame: one row per item and per carousel child (``parent_id``, ``position``)."""
        import pandas as pd

        # pyarrow is imported here, not at module level: the token refresh imports this hook in every task.
        from airflow_provider_instagram.schema import flatten_media, media_table

        table = media_table(flatten_media(self.iter_media(since=since, until=until), self.account_user_id()))
        frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
        return frame

    def account_user_id(self) -> str:
        """The account's id (``/me`` ``id``, what its data is filed under): the connection's ``user_id`` extra once
        confirmed (onboarding and the token refresh record it), else one ``/me`` call."""
        record = AccountRecord.from_extras(self.params.conn_id, self.params.extra)
        if record.user_id and record.ids_confirmed(self.params.api):
            return record.user_id
        return checked_id(self.get_profile(["id"]).get("id"), f"the user id /me answers for {self.params.conn_id!r}")

    # ------------------------------------------------------------------ insights
    def get_media_insights(
        self, media_id: str, metrics: Sequence[str], breakdown: str | None = None
    ) -> list[InsightValue]:
        """A media's lifetime insights (``/<media-id>/insights``); one call.

        Ask only metrics its product type has (``insights.catalog``): one unsupported metric fails the whole call.
        Metrics Instagram answers nothing for come back as values ``None`` with reason ``no_data``.

        :param media_id: the media (not a carousel child: those have no insights).
        :param metrics: the metrics' names.
        :param breakdown: one breakdown dimension (``action_type``) of the metrics asked.
        :raises InstagramMetricError: code 100 about the metrics (retired, wrong product type, incompatible).
        :raises InstagramNoInsightsError: the media has none, for a stated reason (2108006, too few viewers).
        :raises InstagramObjectNotFoundError: the media is gone.
        :raises InstagramPermissionError: the token lacks ``instagram_business_manage_insights``.
        """
        query = {"metric": ",".join(metrics), **({"breakdown": breakdown} if breakdown else {})}
        return self._insights(f"{checked_id(media_id, 'media id')}/insights", query, metrics, breakdown)

    def get_account_insights(
        self, metrics: Sequence[str], *, period: str = "day", metric_type: str | None = "total_value",
        breakdown: str | None = None, since: datetime | date | int | None = None,
        until: datetime | date | int | None = None, timeframe: str | None = None, user_id: str = "me",
    ) -> list[InsightValue]:  # fmt: skip
        """The account's insights (``/<ig-user-id>/insights``); one call, typed values (time series values carry
        their day). ``since``/``until`` are inclusive Unix times or UTC days; Instagram refuses ranges over 30 days.

        :raises InstagramMetricError: code 100 about the metrics or their breakdown.
        :raises InstagramPermissionError: the token lacks ``instagram_business_manage_insights``.
        """
        query: dict[str, Any] = {"metric": ",".join(metrics), "period": period}
        extra = {"metric_type": metric_type, "breakdown": breakdown, "timeframe": timeframe,
                 "since": _unix(since), "until": _unix(until)}  # fmt: skip
        query.update({k: v for k, v in extra.items() if v is not None})
        owner = user_id if user_id == "me" else checked_id(user_id, "user id")
        return self._insights(f"{owner}/insights", query, metrics, breakdown)

    def _insights(self, path: str, query: dict[str, Any], asked: Sequence[str],
                  breakdown: str | None) -> list[InsightValue]:  # fmt: skip
        try:
            body = self._get(path, query)
        except InstagramRequestError as exc:
            raise insights_error(exc, asked, breakdown, self.instagram_conn_id) from None
        return parse_insights(body, asked)

    # ------------------------------------------------------------------ Airflow UI
    def test_connection(self) -> tuple[bool, str]:
        """For a Test button: ``(True, "Connected to Instagram as @<username> (<account type>)")`` or
        ``(False, reason)``."""
        try:
            profile = self.get_profile(["username", "account_type"])
        except InstagramError as exc:  # InstagramConfigError included
            return False, self._as_the_users(str(exc))
        return True, f"Connected to Instagram as @{profile.get('username')} ({profile.get('account_type')})"

    def _as_the_users(self, message: str) -> str:
        """``message`` naming the connection the user knows. Airflow's connection Test copies the connection under
        a random 8-character id (an ``AIRFLOW_CONN_`` variable): that id means nothing to the user, the account's
        username does."""
        conn_id = self.instagram_conn_id
        if not (_TEMPORARY_ID.fullmatch(conn_id) and f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ):
            return message
        try:
            username = keys.text_field(self.params.extra, keys.USERNAME, conn_id)
        except InstagramError:
            username = None
        shown = f"the connection of @{username}" if username else "the connection tested"
        return message.replace(repr(conn_id), shown).replace(conn_id, shown)

    @classmethod
    def calls_for(cls, media_count: int, page_size: int = 100) -> int:
        """API calls an export of ``media_count`` media costs: the pages plus one profile call."""
        return max(1, math.ceil(media_count / page_size)) + 1


_TEMPORARY_ID = re.compile(r"[A-Za-z0-9]{8}")


def _permissions(body: dict[str, Any]) -> tuple[str, ...]:
    """Instagram's comma-joined ``permissions`` string as a tuple (empty when absent)."""
    return tuple(p for p in str(body.get("permissions") or "").split(",") if p)


def _in_window(timestamp: str | None, low: str | None, high: str | None) -> bool:
    if timestamp is None:
        return True
    return (low is None or timestamp >= low) and (high is None or timestamp < high)
