"""Turning records into the JSON Instagram answers, per API flavour and ``fields``."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from airflow_provider_instagram.emulator.config import EmulatorConfig
from airflow_provider_instagram.emulator.errors import invalid_parameter
from airflow_provider_instagram.emulator.fields import FieldSpec
from airflow_provider_instagram.emulator.model import Account, Media

BASIC_DISPLAY_USER_FIELDS = frozenset({"id", "username", "account_type", "media_count"})
INSTAGRAM_LOGIN_USER_FIELDS = frozenset(
    {
        "id", "user_id", "username", "name", "account_type", "profile_picture_url",
        "followers_count", "follows_count", "media_count", "biography", "website",
    }
)  # fmt: skip
BASIC_DISPLAY_MEDIA_FIELDS = frozenset(
    {
        "id", "caption", "media_type", "media_url", "permalink", "thumbnail_url",
        "timestamp", "username", "is_shared_to_feed", "children",
    }
)  # fmt: skip
INSTAGRAM_LOGIN_MEDIA_FIELDS = BASIC_DISPLAY_MEDIA_FIELDS | {
    "alt_text", "comments_count", "is_comment_enabled", "like_count", "media_product_type",
    "owner", "shortcode", "legacy_instagram_media_id",
}  # fmt: skip
# The docs mark these "Facebook Login only"; `newer_fields=False` leaves them out under Instagram Login.
FACEBOOK_LOGIN_ONLY_FIELDS = frozenset({"caption", "media_product_type"})

_ACCOUNT_TYPES = {"BUSINESS": "Business", "MEDIA_CREATOR": "Media_Creator", "PERSONAL": "Personal"}


def format_timestamp(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(epoch))


class CdnSigner:
    """Signs and checks CDN URLs the way Instagram's do: ``oe`` is a hex expiry, ``oh`` an HMAC."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def signature(self, path: str, oe: str) -> str:
        return hmac.new(self._key, f"{path}|{oe}".encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, base: str, path: str, expires_at: float) -> str:
        oe = format(int(expires_at), "x")
        query = {"_nc_cat": "1", "_nc_ohc": "emulated", "_nc_ht": "cdninstagram.emulator"}
        return f"{base}{path}?{urlencode(query)}&oh={self.signature(path, oe)}&oe={oe}"

    def valid_signature(self, path: str, oh: str, oe: str) -> bool:
        return hmac.compare_digest(self.signature(path, oe), oh)


class Renderer:
    """Renders users and media for one request (its base URL and clock)."""

    def __init__(self, config: EmulatorConfig, base: str, signer: CdnSigner, now: Callable[[], float]) -> None:
        self.config = config
        self.base = base
        self.signer = signer
        self.now = now
        basic = config.api == "basic_display"
        self.user_fields = BASIC_DISPLAY_USER_FIELDS if basic else INSTAGRAM_LOGIN_USER_FIELDS
        self.media_fields = BASIC_DISPLAY_MEDIA_FIELDS if basic else INSTAGRAM_LOGIN_MEDIA_FIELDS
        self.omitted = FACEBOOK_LOGIN_ONLY_FIELDS if (not basic and not config.newer_fields) else frozenset()

    def check(self, specs: tuple[FieldSpec, ...], allowed: frozenset[str], node_type: str) -> None:
        for spec in specs:
            if spec.name not in allowed:
                raise invalid_parameter(f"Tried accessing nonexisting field ({spec.name}) on node type ({node_type})")
            if spec.subfields is not None:
                if spec.name != "children":
                    raise invalid_parameter(f"Field {spec.name} does not support field expansion")
                self.check(spec.subfields, self.media_fields, "Media")

    def user(self, account: Account, specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
        self.check(specs, self.user_fields, "User")
        basic = self.config.api == "basic_display"
        values: dict[str, Any] = {
            "id": account.id,
            "user_id": account.ig_user_id,
            "username": account.username,
            "name": account.name,
            "account_type": account.account_type if basic else _ACCOUNT_TYPES[account.account_type],
            "profile_picture_url": self.signer.url(self.base, f"/cdn/profile/{account.id}.jpg", self._expiry()),
            "followers_count": account.followers_count,
            "follows_count": account.follows_count,
            "media_count": len(account.media) - _unposted(account.media, self.now()),
            "biography": account.biography,
            "website": account.website,
        }
        return {s.name: values[s.name] for s in specs if values.get(s.name) is not None}

    def media(self, item: Media, specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
        self.check(specs, self.media_fields, "Media")
        out: dict[str, Any] = {}
        for spec in specs:
            if spec.name in self.omitted:
                continue
            value = self._media_value(item, spec)
            if value is not None:
                out[spec.name] = value
        return out

    def _expiry(self) -> float:
        return self.now() + self.config.cdn_url_ttl

    def _file_url(self, item: Media, kind: str) -> str | None:
        if item.media_type == "CAROUSEL_ALBUM":
            # An album answers with its first child's file, as the live API does.
            return self._file_url(item.children[0], kind) if item.children else None
        if not item.has_media_url:
            return None
        if kind == "thumbnail":
            return self.signer.url(self.base, f"/cdn/thumbnail/{item.id}.jpg", self._expiry())
        ext = "mp4" if item.media_type == "VIDEO" else "jpg"
        return self.signer.url(self.base, f"/cdn/media/{item.id}.{ext}", self._expiry())

    def _media_value(self, item: Media, spec: FieldSpec) -> Any:
        name = spec.name
        is_child = item.parent_id is not None
        if name == "children":
            if item.media_type != "CAROUSEL_ALBUM":
                return None
            sub = spec.subfields or (FieldSpec("id"),)
            return {"data": [self.media(child, sub) for child in item.children]}
        if name in ("caption", "permalink", "is_shared_to_feed") and is_child:
            return None
        if name == "media_url":
            return self._file_url(item, "media")
        if name == "thumbnail_url":
            return self._file_url(item, "thumbnail") if item.media_type == "VIDEO" else None
        if name == "permalink" and item.media_product_type == "STORY":
            return f"https://www.instagram.com/stories/{item.username}/{item.id}/"
        if name == "permalink":
            kind = "reel" if item.media_product_type == "REELS" else "p"
            return f"https://www.instagram.com/{kind}/{item.shortcode}/"
        if name == "is_shared_to_feed":
            return True if item.media_product_type == "REELS" else None
        if name == "timestamp":
            return format_timestamp(item.timestamp)
        if name == "owner":
            return {"id": item.owner_id}
        if name == "legacy_instagram_media_id":
            return f"{int(item.id) % 10**19}_{item.owner_id}"
        return getattr(item, name)


def _unposted(media: list[Media], now: float) -> int:
    """How many of an account's media (newest first) are timestamped after the clock: not posted yet."""
    return next((i for i, item in enumerate(media) if item.timestamp <= now), len(media))
