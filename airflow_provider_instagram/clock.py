"""The provider's one idea of "now": a clock is a function returning an aware UTC datetime, injected wherever a
decision or a stamp depends on the time (tests pass the emulator's clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The wall clock, in UTC: the default clock."""
    return datetime.now(UTC)
