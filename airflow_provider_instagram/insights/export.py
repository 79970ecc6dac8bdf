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
import pyarrow.compute as pc
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.exceptions import (
    InstagramConfigError,
    InstagramPermissionError,
    InstagramRequestError,
    InstagramTransientError,
    SnapshotDayPastError,
)
from airflow_provider_instagram.export.formats import check_format, read_batches
from airflow_provider_instagram.export.partitions import PartitionedWriter, partition_dir
from airflow_provider_instagram.export.staging import PART_FILE, StagedFiles
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.insights.account_export import (
    AccountDays,
    AccountWritten,
    write_account_days,
    write_audience,
)
from airflow_provider_instagram.insights.answers import InsightValue
from airflow_provider_instagram.insights.catalog import MetricCatalog
from airflow_provider_instagram.insights.healing import MetricHealer
from airflow_provider_instagram.insights.policy import MediaRef, RefreshPlan, RefreshPolicy
from airflow_provider_instagram.insights.reader import AccountInsightsReader, CallBudget, MediaInsightsReader
from airflow_provider_instagram.insights.schema import AUDIENCE, MEDIA_INSIGHTS, MEDIA_INSIGHTS_SCHEMA
from airflow_provider_instagram.insights.state import read_complete_days, read_media_state, write_state

log = logging.getLogger(__name__)
MEDIA_FIELDS = ("id", "media_product_type", "timestamp")
BATCH = 2_000
__all__ = ["AccountDays", "InsightsExport", "InsightsSummary", "read_media_state"]


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
    media_failed: int
    media_carried: int
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
        self.stories_refused: str | None = None

    def run(self) -> InsightsSummary:
        """Read and publish; the partitions first, then the state that says they were read."""
        started = time.monotonic()
        hook = self.hook_factory()
        user_id, version = self._account_id(hook), hook.params.api_version
        constants = {"read_at": self.clock().replace(microsecond=0), "api_version": version or "unversioned"}
        staged = StagedFiles(self.destination, user_id, f"insights-{self.today.isoformat()}")
        state = StagedFiles(self.destination, user_id, f"insights-state-{self.today.isoformat()}")
        staged.clear()
        state.clear()
        refs = self._known_media(hook, user_id)
        plan = self.policy.plan(list(refs.values()), self.today)
        reader = MediaInsightsReader(self.hook_factory, self.catalog, self.healer, on_day=self.today,
                                     api_version=version, concurrency=self.concurrency, budget=self.budget,
                                     breakdowns=self.breakdowns)  # fmt: skip
        try:
            media = self._media(reader, plan, staged, user_id, constants)
            account = self._account(hook, reader.hooks, staged, user_id, version, constants)
            write_state(state, user_id, self._media_state(refs, media), account.complete)
            self.before_publish()
            staged.publish(
                [
                    partition_dir(MEDIA_INSIGHTS, user_id, self.today),
                    *account.dirs,
                    *([partition_dir(AUDIENCE, user_id, self.today)] if AUDIENCE in account.rows else []),
                ]
            )
            state.publish([])
        except BaseException:
            staged.abort()
            state.abort()
            raise
        return self._summary(user_id, refs, plan, reader, media, account, [hook, *reader.hooks], started)

    def _account_id(self, hook: InstagramHook) -> str:
        if hook.params.api != "instagram_login":
            raise InstagramConfigError(
                f"Connection {self.conn_id!r} uses the {hook.params.api} API, which has no insights: insights need "
                "the Instagram API with Instagram Login (set the connection's extra 'api' to 'instagram_login' and "
                "connect the account again)"
            )
        user_id = hook.account_user_id()
        past = self.clock().astimezone(UTC).date() - timedelta(days=1)
        if self.today < past and (self.destination / partition_dir(MEDIA_INSIGHTS, user_id, self.today)).exists():
            raise SnapshotDayPastError(
                f"The insights of {self.today} for connection {self.conn_id!r} were read on that day; values read "
                "now would be filed under it and replace them. Insights are snapshots: nothing was read or changed "
                "(today's run reads today's values)"
            )
        return user_id

    def _summary(self, user_id: str, refs: dict[str, MediaRef], plan: RefreshPlan, reader: MediaInsightsReader,
                 media: MediaWritten, account: AccountWritten, hooks: list[InstagramHook],
                 started: float) -> InsightsSummary:  # fmt: skip
        return InsightsSummary(
            conn_id=self.conn_id, user_id=user_id, snapshot_day=self.today.isoformat(),
            account_first_day=account.first.isoformat() if account.first else None,
            account_last_day=account.last.isoformat() if account.last else None, media_known=len(refs),
            media_due=len(plan.due), media_read=len(media.read), media_deferred=reader.deferred,
            media_failed=reader.failed, media_carried=media.carried, media_fresh=plan.fresh,
            media_gone=len(media.gone), due_why=dict(plan.why), rows={MEDIA_INSIGHTS: media.rows, **account.rows},
            no_value_reasons=dict(reader.reasons), metrics_dropped=[d.to_dict() for d in self.healer.dropped],
            api_calls=sum(h.api_calls for h in hooks), rate_limit_usage_percent=CallBudget.usage(hooks),
            seconds=round(time.monotonic() - started, 3), file_format=self.file_format,
            extra={"stories_refused": self.stories_refused} if self.stories_refused else {},
        )  # fmt: skip

    # ------------------------------------------------------------------ media
    def _known_media(self, hook: InstagramHook, user_id: str) -> dict[str, MediaRef]:
        """Every media the policy may read: the state's, plus what was posted since the newest one it knows (every
        media on the first run) and the live stories (the stories edge lists only those: the policy reads a story
        only while it is listed). Media deleted on Instagram leave when a read finds them gone."""
        refs = read_media_state(self.destination, user_id)
        newest = max((r.created for r in refs.values()), default=None)
        since = None if newest is None else min(newest.date(), self.today - timedelta(days=self.policy.hot_days))
        listed = hook.iter_media(list(MEDIA_FIELDS), since=since and since - timedelta(days=1))
        stories = self._live_stories(hook) if self.stories else []
        for item, live in itertools.chain(((m, False) for m in listed), ((s, True) for s in stories)):
            created = datetime.strptime(item["timestamp"], "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
            known = refs.get(item["id"])
            refs[item["id"]] = MediaRef(item["id"], item.get("media_product_type"), created,
                                        known.last_read if known else None, live)  # fmt: skip
        return refs

    def _live_stories(self, hook: InstagramHook) -> list[dict[str, Any]]:
        """The stories edge's stories; none, with a warning, where Instagram refuses the edge (no page confirms it
        on graph.instagram.com for Instagram Login tokens): the run goes on with the posts."""
        try:
            return list(hook.iter_stories(list(MEDIA_FIELDS)))
        except (InstagramRequestError, InstagramTransientError) as exc:
            if isinstance(exc, InstagramPermissionError):
                raise
            log.warning("Stories of %s not read this run (%s): their insights last 24 hours; set stories=False if "
                        "the account has none to read", self.conn_id, exc)  # fmt: skip
            self.stories_refused = str(exc)
            return []

    def _media(self, reader: MediaInsightsReader, plan: RefreshPlan, staged: StagedFiles, user_id: str,
               constants: dict[str, Any]) -> MediaWritten:  # fmt: skip
        """Read the due media into the day's partition; rows of media read earlier today that this run could not
        read again are carried over from the partition it replaces, so a rerun never loses one."""
        writer = PartitionedWriter(staged, MEDIA_INSIGHTS, user_id, MEDIA_INSIGHTS_SCHEMA, self.file_format)
        written, pending = MediaWritten(), list[dict[str, Any]]()
        try:
            for result in reader.read(plan.due):
                if result.gone:
                    written.gone.add(result.ref.id)
                elif not result.failed:
                    written.read.add(result.ref.id)
                    pending += media_rows(result.ref, result.values, user_id, self.today, constants)
                if len(pending) >= BATCH:
                    writer.add_rows(pending, self.today)
                    pending = []
            earlier = {r.id for r in plan.due if r.last_read == self.today} - written.read - written.gone
            carried = self._earlier_rows(user_id, earlier)
            written.carried = len({row["media_id"] for row in carried})
            pending += carried
            writer.add_rows(pending, self.today) if pending else writer.add_empty(self.today)
            writer.close()
        except BaseException:
            writer.abort()
            raise
        written.rows = writer.rows
        log.info("Insights of %s: read %d of %d due media; %d left to the next run by the call budget, %d failed",
                 self.conn_id, len(written.read), len(plan.due), reader.deferred, reader.failed)  # fmt: skip
        return written

    def _earlier_rows(self, user_id: str, media_ids: set[str]) -> list[dict[str, Any]]:
        """The rows of ``media_ids`` in the day's published partition."""
        directory = self.destination / partition_dir(MEDIA_INSIGHTS, user_id, self.today)
        if not media_ids or not directory.exists():
            return []
        wanted, rows = pa.array(sorted(media_ids)), []
        for part in sorted(p for p in directory.iterdir() if PART_FILE.match(p.name)):
            with part.open("rb") as source:
                for batch in read_batches(part.suffix.lstrip("."), source, MEDIA_INSIGHTS_SCHEMA, BATCH):
                    rows += batch.filter(pc.is_in(batch["media_id"], value_set=wanted)).to_pylist()
        return rows

    def _media_state(self, refs: dict[str, MediaRef], media: MediaWritten) -> list[MediaRef]:
        """The state after this run: media read today marked so (never moved back), gone ones forgotten."""

        def last_read(ref: MediaRef) -> date | None:
            return max(ref.last_read or self.today, self.today) if ref.id in media.read else ref.last_read

        return [
            MediaRef(r.id, r.product_type, r.created, last_read(r)) for r in refs.values() if r.id not in media.gone
        ]

    # ------------------------------------------------------------------ account
    def _account(self, hook: InstagramHook, media_hooks: list[InstagramHook], staged: StagedFiles, user_id: str,
                 version: str | None, constants: dict[str, Any]) -> AccountWritten:  # fmt: skip
        reader = AccountInsightsReader(hook, self.catalog, self.healer, on_day=self.today, api_version=version)
        complete = read_complete_days(self.destination, user_id)
        if self.account_days is None:
            written = AccountWritten(complete=complete)
        else:
            stop = lambda: self.budget.usage_reached([hook, *media_hooks])  # noqa: E731
            written = write_account_days(reader, staged, self.account_days, complete, user_id, self.today,
                                         self.file_format, constants, stop)  # fmt: skip
        if self.timeframe:
            rows = write_audience(reader, staged, self.timeframe, user_id, self.today, self.file_format, constants)
            if rows is not None:
                written.rows[AUDIENCE] = rows
        return written


@dataclass
class MediaWritten:
    """What the media part of a run wrote: the media read, gone, carried over, and the rows."""

    read: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    carried: int = 0
    rows: int = 0


def media_rows(ref: MediaRef, values: Iterable[InsightValue], user_id: str, day: date,
               constants: dict[str, Any]) -> list[dict[str, Any]]:  # fmt: skip
    return [
        {"user_id": user_id, "media_id": ref.id, "media_product_type": ref.product_type, "media_timestamp": ref.created,
         "metric": v.metric, "breakdown": v.breakdown, "breakdown_value": v.breakdown_value, "value": v.value,
         "reason": v.reason, "snapshot_day": day, **constants}
        for v in values
    ]  # fmt: skip
