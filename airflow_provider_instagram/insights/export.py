"""One account's insights run: plan, read within the budget, stage the partitions, publish them at once."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.exceptions import InstagramConfigError
from airflow_provider_instagram.export.formats import check_format
from airflow_provider_instagram.export.partitions import PartitionedWriter, partition_dir
from airflow_provider_instagram.export.staging import StagedFiles
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.insights.answers import InsightValue
from airflow_provider_instagram.insights.catalog import MetricCatalog
from airflow_provider_instagram.insights.healing import MetricHealer
from airflow_provider_instagram.insights.policy import MediaRef, RefreshPolicy
from airflow_provider_instagram.insights.reader import AccountInsightsReader, CallBudget, MediaInsightsReader
from airflow_provider_instagram.insights.schema import (
    ACCOUNT_INSIGHTS,
    ACCOUNT_INSIGHTS_SCHEMA,
    AUDIENCE,
    AUDIENCE_SCHEMA,
    MEDIA_INSIGHTS,
    MEDIA_INSIGHTS_SCHEMA,
    STATE,
    STATE_SCHEMA,
)

log = logging.getLogger(__name__)
STATE_FILE = "media.parquet"
MEDIA_FIELDS = ("id", "media_product_type", "timestamp")
BATCH = 2_000


@dataclass(frozen=True)
class AccountDays:
    """Which days of account insights a run reads: every day missing within ``backfill_days`` and always the last
    ``lag_days`` (Instagram's values of the last 48 hours still change), up to yesterday.

    :param backfill_days: how far back to fill missing days (1 to 730; Instagram keeps 2 years).
    :param lag_days: days re-read every run (0 to 30).
    """

    backfill_days: int = 30
    lag_days: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.backfill_days <= 730 or not 0 <= self.lag_days <= 30:
            raise ValueError("account backfill_days must be 1 to 730 and lag_days 0 to 30")

    def range(self, today: date, have: set[date]) -> tuple[date, date] | None:
        """The contiguous days to read (first, last), or ``None`` when none are due."""
        last = today - timedelta(days=1)
        window = [last - timedelta(days=i) for i in range(self.backfill_days)]
        missing = [d for d in window if d not in have]
        lagging = [last - timedelta(days=i) for i in range(self.lag_days)]
        due = missing + lagging
        return (min(due), last) if due else None


@dataclass
class InsightsSummary:
    """What one account's insights run did: the task's XCom (counts, no secret)."""

    conn_id: str
    user_id: str
    snapshot_day: str
    account_first_day: str | None
    account_last_day: str | None
    media_known: int
    media_due: int
    media_read: int
    media_deferred: int
    media_fresh: int
    media_gone: int
    due_why: dict[str, int]
    rows: dict[str, int]
    no_value_reasons: dict[str, int]
    metrics_dropped: list[dict[str, str]]
    api_calls: int
    rate_limit_usage_percent: int | None
    seconds: float
    file_format: str = "parquet"
    destination: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class InsightsExport:
    """Read one account's insights for snapshot day ``today`` and publish them under ``destination``.

    :param hook_factory: makes a hook for the account (one per reading thread).
    :param destination: the export's root (the media export's, usually).
    :param today: the snapshot day (a value read that day is that day's row).
    :param conn_id: the account's connection.
    :param catalog: the metrics to ask.
    :param policy: which media to read.
    :param account_days: which account days to read (``None``: no account insights).
    :param timeframe: the demographics' timeframe (``None``: no demographics).
    :param budget: when media reads stop (account reads are few and always made).
    :param concurrency: media calls in flight.
    :param breakdowns: also read the media metrics' breakdowns.
    :param stories: also read the live stories' insights (one more call per run: their insights last 24 hours).
    :param file_format: ``parquet``, ``jsonl`` or ``csv``.
    :param clock: the rows' ``read_at``.
    :param before_publish: asked right before publishing; what it raises aborts with nothing published.
    """

    def __init__(
        self, hook_factory: Callable[[], InstagramHook], destination: ObjectStoragePath, today: date, *,
        conn_id: str, catalog: MetricCatalog | None = None, policy: RefreshPolicy | None = None,
        account_days: AccountDays | None = None, timeframe: str | None = "this_month",
        budget: CallBudget | None = None, concurrency: int = 8, breakdowns: bool = False, stories: bool = True,
        file_format: str = "parquet", clock: Clock = utcnow, before_publish: Callable[[], None] = lambda: None,
    ) -> None:  # fmt: skip
        self.hook_factory, self.destination, self.today, self.conn_id = hook_factory, destination, today, conn_id
        self.catalog = catalog or MetricCatalog.bundled()
        self.policy, self.account_days = policy or RefreshPolicy(), account_days
        self.timeframe, self.budget, self.concurrency = timeframe, budget or CallBudget(), concurrency
        self.breakdowns, self.stories, self.file_format = breakdowns, stories, check_format(file_format)
        self.clock, self.before_publish = clock, before_publish
        self.healer = MetricHealer(conn_id)

    def run(self) -> InsightsSummary:
        started = time.monotonic()
        hook = self.hook_factory()
        if hook.params.api != "instagram_login":
            raise InstagramConfigError(
                f"Connection {self.conn_id!r} uses the {hook.params.api} API, which has no insights: insights need "
                "the Instagram API with Instagram Login (set the connection's extra 'api' to 'instagram_login' and "
                "connect the account again)"
            )
        user_id = hook.account_user_id()
        version = hook.params.api_version
        constants = {"read_at": self.clock().replace(microsecond=0), "api_version": version or "unversioned"}
        staged = StagedFiles(self.destination, user_id, f"insights-{self.today.isoformat()}")
        staged.clear()
        refs = self._known_media(hook, user_id)
        plan = self.policy.plan(list(refs.values()), self.today)
        reader = MediaInsightsReader(self.hook_factory, self.catalog, self.healer, on_day=self.today,
                                     api_version=version, concurrency=self.concurrency, budget=self.budget,
                                     breakdowns=self.breakdowns)  # fmt: skip
        try:
            rows, read, gone = self._media(reader, plan.due, staged, user_id, constants)
            account = self._account(hook, staged, user_id, version, constants)
            rows.update(account.pop("rows"))
            self._state(staged, user_id, refs, read, gone)
            owned = [partition_dir(t, user_id, self.today) for t in (MEDIA_INSIGHTS, AUDIENCE)] + account["dirs"]
            self.before_publish()
            staged.publish(owned)
        except BaseException:
            staged.abort()
            raise
        hooks = [hook, *reader.hooks]
        return InsightsSummary(
            conn_id=self.conn_id, user_id=user_id, snapshot_day=self.today.isoformat(),
            account_first_day=account["first"], account_last_day=account["last"], media_known=len(refs),
            media_due=len(plan.due), media_read=len(read), media_deferred=reader.deferred, media_fresh=plan.fresh,
            media_gone=len(gone), due_why=dict(plan.why), rows=rows, no_value_reasons=dict(reader.reasons),
            metrics_dropped=[d.to_dict() for d in self.healer.dropped],
            api_calls=sum(h.api_calls for h in hooks),
            rate_limit_usage_percent=max((h.transport.usage_percent or 0 for h in hooks if h.api_calls), default=None),
            seconds=round(time.monotonic() - started, 3), file_format=self.file_format,
        )  # fmt: skip

    # ------------------------------------------------------------------ media
    def _known_media(self, hook: InstagramHook, user_id: str) -> dict[str, MediaRef]:
        """Every media the policy may read: the state's, plus what was posted since the newest one it knows (every
        media on the first run) and the live stories (the stories edge lists only those: the policy reads a story
        only while it is listed). Media deleted on Instagram leave when a read finds them gone."""
        refs = read_state(self.destination, user_id)
        newest = max((r.created for r in refs.values()), default=None)
        since = None if newest is None else min(newest.date(), self.today - timedelta(days=self.policy.hot_days))
        listed = hook.iter_media(list(MEDIA_FIELDS), since=since and since - timedelta(days=1))
        stories = hook.iter_stories(list(MEDIA_FIELDS)) if self.stories else iter(())
        for item, live in itertools.chain(((m, False) for m in listed), ((s, True) for s in stories)):
            created = datetime.strptime(item["timestamp"], "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
            known = refs.get(item["id"])
            refs[item["id"]] = MediaRef(item["id"], item.get("media_product_type"), created,
                                        known.last_read if known else None, live)  # fmt: skip
        return refs

    def _media(
        self, reader: MediaInsightsReader, due: list[MediaRef], staged: StagedFiles, user_id: str,
        constants: dict[str, Any],
    ) -> tuple[dict[str, int], set[str], set[str]]:  # fmt: skip
        writer = PartitionedWriter(staged, MEDIA_INSIGHTS, user_id, MEDIA_INSIGHTS_SCHEMA, self.file_format)
        read: set[str] = set()
        gone: set[str] = set()
        pending: list[dict[str, Any]] = []
        try:
            for result in reader.read(due):
                if result.gone:
                    gone.add(result.ref.id)
                    continue
                read.add(result.ref.id)
                pending += media_rows(result.ref, result.values, user_id, self.today, constants)
                if len(pending) >= BATCH:
                    writer.add_rows(pending, self.today)
                    pending = []
            writer.add_rows(pending, self.today) if pending else writer.add_empty(self.today)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        log.info("Insights of %s: read %d of %d due media (%d deferred to the next run by the call budget)",
                 self.conn_id, len(read), len(due), reader.deferred)  # fmt: skip
        return {MEDIA_INSIGHTS: writer.rows}, read, gone

    def _state(self, staged: StagedFiles, user_id: str, refs: dict[str, MediaRef], read: set[str],
               gone: set[str]) -> None:  # fmt: skip
        rows = [
            {"media_id": r.id, "media_product_type": r.product_type, "media_timestamp": r.created,
             "last_read": self.today if r.id in read else r.last_read}
            for r in refs.values() if r.id not in gone
        ]  # fmt: skip
        with staged.open(f"{STATE}/user_id={user_id}/{STATE_FILE}") as sink:
            pq.write_table(pa.Table.from_pylist(rows, schema=STATE_SCHEMA), sink)

    # ------------------------------------------------------------------ account
    def _account(self, hook: InstagramHook, staged: StagedFiles, user_id: str, version: str | None,
                 constants: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        reader = AccountInsightsReader(hook, self.catalog, self.healer, on_day=self.today, api_version=version)
        done: dict[str, Any] = {"first": None, "last": None, "dirs": [], "rows": {}}
        days = self.account_days.range(self.today, self._account_days_present(user_id)) if self.account_days else None
        if days is not None:
            writer = PartitionedWriter(staged, ACCOUNT_INSIGHTS, user_id, ACCOUNT_INSIGHTS_SCHEMA, self.file_format)
            by_day: dict[date, list[dict[str, Any]]] = {}
            for value in reader.daily(*days):
                by_day.setdefault(value.day or days[1], []).append(account_row(value, user_id, constants))
            for day in _days(*days):
                writer.add_rows(by_day[day], day) if by_day.get(day) else writer.add_empty(day)
            writer.close()
            done.update(first=days[0].isoformat(), last=days[1].isoformat(),
                        dirs=[partition_dir(ACCOUNT_INSIGHTS, user_id, d) for d in _days(*days)])  # fmt: skip
            done["rows"][ACCOUNT_INSIGHTS] = writer.rows
        if self.timeframe:
            writer = PartitionedWriter(staged, AUDIENCE, user_id, AUDIENCE_SCHEMA, self.file_format)
            rows = [audience_row(v, user_id, self.timeframe, self.today, constants)
                    for v in reader.audience(self.timeframe)]  # fmt: skip
            writer.add_rows(rows, self.today) if rows else writer.add_empty(self.today)
            writer.close()
            done["rows"][AUDIENCE] = writer.rows
        return done

    def _account_days_present(self, user_id: str) -> set[date]:
        base = self.destination / ACCOUNT_INSIGHTS / f"user_id={user_id}"
        if not base.exists():
            return set()
        return {date.fromisoformat(d.name[3:]) for d in base.iterdir() if d.name.startswith("dt=")}


def read_state(destination: ObjectStoragePath, user_id: str) -> dict[str, MediaRef]:
    """The media the account's earlier runs knew, with the day each was last read (empty before the first run)."""
    path = destination / STATE / f"user_id={user_id}" / STATE_FILE
    if not path.exists():
        return {}
    with path.open("rb") as source:
        table = pq.read_table(source, schema=STATE_SCHEMA)
    return {
        row["media_id"]: MediaRef(row["media_id"], row["media_product_type"], row["media_timestamp"], row["last_read"])
        for row in table.to_pylist()
    }


def media_rows(ref: MediaRef, values: Iterable[InsightValue], user_id: str, day: date,
               constants: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    return [
        {"user_id": user_id, "media_id": ref.id, "media_product_type": ref.product_type, "media_timestamp": ref.created,
         "metric": v.metric, "breakdown": v.breakdown, "breakdown_value": v.breakdown_value, "value": v.value,
         "reason": v.reason, "snapshot_day": day, **constants}
        for v in values
    ]  # fmt: skip


def account_row(value: InsightValue, user_id: str, constants: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": user_id, "metric": value.metric, "period": "day", "breakdown": value.breakdown,
            "breakdown_value": value.breakdown_value, "day": value.day, "value": value.value,
            "reason": value.reason, **constants}  # fmt: skip


def audience_row(value: InsightValue, user_id: str, timeframe: str, day: date,
                 constants: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    return {"user_id": user_id, "metric": value.metric, "timeframe": timeframe, "breakdown": value.breakdown,
            "breakdown_value": value.breakdown_value, "value": value.value, "reason": value.reason,
            "snapshot_day": day, **constants}  # fmt: skip


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
