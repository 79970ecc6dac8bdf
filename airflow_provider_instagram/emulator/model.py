"""The emulator's in-memory records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TokenKind = Literal["short", "long"]
TokenValidity = Literal["valid", "invalidated", "revoked"]


@dataclass(slots=True)
class Media:
    id: str
    owner_id: str
    username: str
    media_type: str  # IMAGE | VIDEO | CAROUSEL_ALBUM
    media_product_type: str  # FEED | REELS | STORY
    timestamp: int  # Unix seconds, UTC
    caption: str | None = None
    shortcode: str = ""
    like_count: int | None = 0
    comments_count: int = 0
    is_comment_enabled: bool = True
    has_media_url: bool = True
    alt_text: str | None = None
    parent_id: str | None = None
    children: list[Media] = field(default_factory=list)
    viewers: int | None = None  # a story's reach once saturated (the seed makes some stories too small for insights)


@dataclass(slots=True)
class Account:
    id: str  # app-scoped id, what /me answers and what paging URLs carry
    ig_user_id: str  # the professional-account id (Instagram Login's `user_id` field)
    username: str
    name: str
    account_type: str  # flavour-independent: BUSINESS | MEDIA_CREATOR | PERSONAL
    biography: str
    website: str | None
    followers_count: int
    follows_count: int
    media: list[Media] = field(default_factory=list)  # newest first
    stories: list[Media] = field(default_factory=list)  # newest first; never on the media edge


@dataclass(slots=True)
class Token:
    value: str
    kind: TokenKind
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float
    state: TokenValidity = "valid"


@dataclass(slots=True)
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: tuple[str, ...]
    issued_at: float
    used: bool = False


@dataclass(slots=True)
class App:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
