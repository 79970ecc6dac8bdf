"""Which media's insights to read in a run: calls go where values still change.

Young media (the hot window) are read every run; older ones on a rolling schedule, the longest-unread first, so
that each is read at least every ``max_age_days`` and the reads spread evenly over the runs. Media read earlier
on the same snapshot day are read again: a rerun rewrites that day's partition whole, so it must hold them too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

RETENTION_DAYS = 730  # Instagram keeps media metrics for 2 years


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A media whose insights may be read.

    :param id: the media id.
    :param product_type: ``FEED``, ``REELS`` or ``STORY``.
    :param created: when it was posted (UTC).
    :param last_read: the snapshot day its insights were last read (``None``: never).
    :param live: a story the stories edge still lists (its insights live 24 hours); ignored for other media.
    """

    id: str
    product_type: str | None
    created: datetime
    last_read: date | None = None
    live: bool = False


@dataclass
class RefreshPlan:
    """The media to read this run, most urgent first, and why.

    :param due: the media to read, in order (a call budget cuts from the end).
    :param why: how many are due per reason: ``today`` (read earlier today), ``hot``, ``new``, ``overdue``,
        ``rolling``.
    :param fresh: media not due this run.
    :param beyond_retention: media older than Instagram keeps metrics (2 years), and stories no longer live:
        never read.
    """

    due: list[MediaRef] = field(default_factory=list)
    why: Counter[str] = field(default_factory=Counter)
    fresh: int = 0
    beyond_retention: int = 0


@dataclass(frozen=True)
class RefreshPolicy:
    """How often a media's insights are read.

    :param hot_days: media younger than this many days are read every run (their values still grow).
    :param max_age_days: older media are read at least this often.
    :raises ValueError: a bound is below 1, or ``hot_days`` exceeds ``max_age_days``.
    """

    hot_days: int = 7
    max_age_days: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.hot_days <= self.max_age_days <= RETENTION_DAYS:
            raise ValueError(
                f"need 1 <= hot_days ({self.hot_days}) <= max_age_days ({self.max_age_days}) <= {RETENTION_DAYS}"
            )

    def plan(self, media: Sequence[MediaRef], today: date) -> RefreshPlan:
        """The media to read on snapshot day ``today``."""
        plan = RefreshPlan()
        hot_from, retained_from = today - timedelta(days=self.hot_days), today - timedelta(days=RETENTION_DAYS)
        overdue_before = today - timedelta(days=self.max_age_days - 1)
        groups: dict[str, list[MediaRef]] = {k: [] for k in ("today", "hot", "new", "overdue", "rest")}
        old = 0
        for ref in media:
            created = ref.created.date()
            if ref.last_read == today:  # first: a rerun of the day rewrites its partition whole
                groups["today"].append(ref)
                old += created < hot_from
                continue
            if created < retained_from or (ref.product_type == "STORY" and not ref.live):
                plan.beyond_retention += 1
                continue
            old += created < hot_from
            if created >= hot_from:
                groups["hot"].append(ref)
            elif ref.last_read is None:
                groups["new"].append(ref)
            elif ref.last_read < overdue_before:
                groups["overdue"].append(ref)
            else:
                groups["rest"].append(ref)
        groups["new"].sort(key=lambda r: r.created, reverse=True)
        for name in ("overdue", "rest"):
            groups[name].sort(key=lambda r: (r.last_read or date.min, r.id))
        quota = math.ceil(old / self.max_age_days)
        rolling = max(0, quota - len(groups["overdue"]) - len(groups["new"]))
        for name in ("today", "hot", "new", "overdue"):
            plan.due += groups[name]
            plan.why[name] = len(groups[name])
        plan.due += groups["rest"][:rolling]
        plan.why["rolling"] = min(rolling, len(groups["rest"]))
        plan.fresh = len(groups["rest"]) - plan.why["rolling"]
        return plan
