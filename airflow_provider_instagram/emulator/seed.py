"""Deterministic seed data: the same seed and anchor always give the same accounts and media."""

from __future__ import annotations

import random
import string

from airflow_provider_instagram.emulator.config import DAY, EmulatorConfig
from airflow_provider_instagram.emulator.model import Account, Media

_WORDS = ["sunset", "harbour", "coffee", "alpine", "neon", "garden", "tram", "studio", "market", "orbit"]
_EMOJI = ["🌅", "☕", "🏔️", "✨", "📸", "🎉", "🌿", "🚋", "❤️", "🔥", "👩‍🍳"]
_SHORTCODE_ALPHABET = string.ascii_letters + string.digits + "_-"


def _caption(rng: random.Random) -> str | None:
    if rng.random() < 0.1:
        return None
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 8)))
    tags = " ".join(f"#{rng.choice(_WORDS)}" for _ in range(rng.randint(0, 3)))
    return f"{words} {rng.choice(_EMOJI)}{rng.choice(_EMOJI)} {tags}".strip()


def _media_id(rng: random.Random) -> str:
    return str(rng.randrange(17_800_000_000_000_000, 18_499_999_999_999_999))


def _child(rng: random.Random, parent: Media, position: int) -> Media:
    kind = "VIDEO" if rng.random() < 0.25 else "IMAGE"
    return Media(
        id=_media_id(rng),
        owner_id=parent.owner_id,
        username=parent.username,
        media_type=kind,
        media_product_type="FEED",
        timestamp=parent.timestamp,
        shortcode="".join(rng.choice(_SHORTCODE_ALPHABET) for _ in range(11)),
        like_count=None,
        comments_count=0,
        has_media_url=True,
        parent_id=parent.id,
    )


def make_media(rng: random.Random, account: Account, timestamp: int) -> Media:
    """One media item: images, feed videos, reels and 2-10 child carousels, as real feeds mix them."""
    roll = rng.random()
    if roll < 0.5:
        media_type, product = "IMAGE", "FEED"
    elif roll < 0.65:
        media_type, product = "VIDEO", "FEED"
    elif roll < 0.8:
        media_type, product = "VIDEO", "REELS"
    else:
        media_type, product = "CAROUSEL_ALBUM", "FEED"
    item = Media(
        id=_media_id(rng),
        owner_id=account.id,
        username=account.username,
        media_type=media_type,
        media_product_type=product,
        timestamp=timestamp,
        caption=_caption(rng),
        shortcode="".join(rng.choice(_SHORTCODE_ALPHABET) for _ in range(11)),
        like_count=None if rng.random() < 0.05 else rng.randint(0, 5_000),
        comments_count=rng.randint(0, 300),
        is_comment_enabled=rng.random() > 0.05,
        # Reels with licensed audio and flagged media come without media_url.
        has_media_url=not (media_type == "VIDEO" and rng.random() < 0.15),
        alt_text=None if rng.random() < 0.7 else "Photo of " + rng.choice(_WORDS),
    )
    if media_type == "CAROUSEL_ALBUM":
        item.children = [_child(rng, item, i) for i in range(rng.randint(2, 10))]
    return item


def make_account(rng: random.Random, index: int) -> Account:
    return Account(
        id=str(17_841_400_000_000_000 + index * 1_000 + rng.randrange(1_000)),
        ig_user_id=str(17_841_490_000_000_000 + index * 1_000 + rng.randrange(1_000)),
        username=f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}_{index + 1}",
        name=f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {rng.choice(_EMOJI)}",
        account_type=rng.choice(["BUSINESS", "MEDIA_CREATOR"]),
        biography=f"We post about {rng.choice(_WORDS)} {rng.choice(_EMOJI)}",
        website=None if rng.random() < 0.3 else f"https://example.com/{index + 1}",
        followers_count=rng.randint(10, 250_000),
        follows_count=rng.randint(0, 2_000),
    )


def make_story(rng: random.Random, account: Account, timestamp: int, position: int) -> Media:
    """One story; every third one has fewer than 5 viewers, which Instagram answers with (#10) on insights."""
    return Media(
        id=_media_id(rng),
        owner_id=account.id,
        username=account.username,
        media_type="VIDEO" if rng.random() < 0.4 else "IMAGE",
        media_product_type="STORY",
        timestamp=timestamp,
        shortcode="".join(rng.choice(_SHORTCODE_ALPHABET) for _ in range(11)),
        like_count=None,
        comments_count=0,
        is_comment_enabled=False,
        viewers=rng.randint(0, 4) if position % 3 == 2 else rng.randint(50, 5_000),
    )


def seed_stories(config: EmulatorConfig, account: Account, index: int, anchor: int) -> list[Media]:
    """``config.stories`` stories of the 23 h before ``anchor``, newest first.

    They draw from a generator of their own, so that adding stories leaves every other seeded record as it was.
    """
    rng = random.Random(f"stories-{config.seed}-{index}")
    stamps = sorted((anchor - rng.randrange(DAY - 3_600) for _ in range(config.stories)), reverse=True)
    return [make_story(rng, account, ts, i) for i, ts in enumerate(stamps)]


def seed_accounts(config: EmulatorConfig, anchor: int) -> list[Account]:
    """Build ``config.accounts`` accounts of ``config.media`` media each, newest first."""
    rng = random.Random(config.seed)
    accounts = []
    span = max(config.span_days, 1) * DAY
    for index in range(config.accounts):
        account = make_account(rng, index)
        if index < len(config.account_ids):
            account.id = str(config.account_ids[index])  # after make_account: the rest of the seed stays the same
        stamps = sorted((anchor - rng.randrange(span) for _ in range(config.media)), reverse=True)
        account.media = [make_media(rng, account, ts) for ts in stamps]
        account.stories = seed_stories(config, account, index, anchor)
        accounts.append(account)
    return accounts
