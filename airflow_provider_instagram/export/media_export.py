"""One account's export: profile snapshot and media pages into staged day partitions, then published at once."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.clock import Clock, utcnow
from airflow_provider_instagram.export.formats import check_format
from airflow_provider_instagram.export.media_files import FileCounts, MediaFileCopier
from airflow_provider_instagram.export.partitions import PartitionedWriter, partition_dir
from airflow_provider_instagram.export.staging import StagedFiles
from airflow_provider_instagram.export.window import ExportWindow
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.options import MAX_CONCURRENCY, SLICE_DAYS
from airflow_provider_instagram.schema import MEDIA_SCHEMA, PROFILE_SCHEMA, flatten_media, media_table, profile_row

log = logging.getLogger(__name__)
PAGE_SIZE = 100
MIN_PAGES_PER_SLICE = 5  # a slice costs up to one extra (partial) page: only worth it for long walks


@dataclass
class ExportSummary:
    """What one export did: the task's XCom (no secret, no URL with credentials)."""

    conn_id: str
    user_id: str
    username: str | None
    window: str
    file_format: str
    rows: int
    data_files: int
    bytes: int
    partitions: int
    files_copied: int
    files_present: int
    files_unavailable: int
    file_bytes: int
    api_calls: int
    rate_limit_usage_percent: int | None
    slices: int
    seconds: float
    first_day: str | None = None
    """The window's first UTC day (ISO); ``None`` for a full snapshot."""
    last_day: str = ""
    """The window's last UTC day (ISO): a load of the same window reads exactly these days."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Progress:
    """Counts pages, rows and calls across slices; logs a line at most every ``every`` seconds."""

    def __init__(self, conn_id: str, every: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.conn_id, self.every, self.clock = conn_id, every, clock
        self.pages = self.rows = 0
        self._lock = threading.Lock()
        self._last = clock()

    def page(self, rows: int, hooks: Sequence[InstagramHook]) -> None:
        with self._lock:
            self.pages += 1
            self.rows += rows
            if self.clock() - self._last < self.every:
                return
            self._last = self.clock()
        self.log(hooks, "in progress")

    def log(self, hooks: Sequence[InstagramHook], state: str) -> None:
        log.info("Export of %s %s: %d pages, %d rows, %d API calls, rate-limit usage %d%%", self.conn_id, state,
                 self.pages, self.rows, sum(h.api_calls for h in hooks), usage_percent(hooks) or 0)  # fmt: skip


def usage_percent(hooks: Sequence[InstagramHook]) -> int | None:
    """The highest rate-limit usage any of the hooks saw; ``None`` before any call."""
    return max((h.transport.usage_percent or 0 for h in hooks if h.api_calls), default=None)


def slice_count(window: ExportWindow, media_count: int | None, max_concurrency: int, slice_days: int) -> int:
    """How many slices to read side by side: one for short windows and small accounts (no extra calls)."""
    days = len(window.days())
    if days <= slice_days or max_concurrency <= 1:
        return 1
    worth = (media_count or 0) // (PAGE_SIZE * MIN_PAGES_PER_SLICE)
    return max(1, min(max_concurrency, math.ceil(days / slice_days), worth))


class MediaExport:
    """Export one account's media (and profile snapshot) for a window to ``destination``.

    :param hook_factory: makes a hook for the account (one per concurrent slice).
    :param destination: the export's root (any ``ObjectStoragePath``).
    :param window: the whole UTC days to read and rewrite.
    :param conn_id: the account's connection id (for logs and the summary).
    :param file_format: ``parquet`` (default), ``jsonl`` or ``csv``.
    :param fields: media fields to request (``id`` and ``timestamp`` are always added); default: all known.
    :param copy_files: also copy the media files to ``<destination>/files/``.
    :param max_concurrency: slices read side by side for long windows (1 to 32).
    :param slice_days: days per slice, at least (windows up to this long are read in one walk; 1 to 3660).
    :param row_group_rows: rows per Parquet row group.
    :param progress_seconds: how often progress is logged.
    :param clock: "now" for the rows' ``exported_at`` stamp (default: the wall clock, in UTC).
    :param before_publish: called once everything is staged, right before it is published; whatever it raises
        aborts the export with nothing published (the operator asks whether the account was revoked meanwhile).
    :raises ValueError: an option is out of its bounds (``airflow_provider_instagram.options``) or unknown.
    """

    def __init__(
        self, hook_factory: Callable[[], InstagramHook], destination: ObjectStoragePath, window: ExportWindow, *,
        conn_id: str, file_format: str = "parquet", fields: Sequence[str] | None = None, copy_files: bool = False,
        max_concurrency: int = 8, slice_days: int = 7, row_group_rows: int = 10_000, progress_seconds: float = 5.0,
        clock: Clock = utcnow, before_publish: Callable[[], None] = lambda: None,
    ) -> None:  # fmt: skip
        self.hook_factory, self.destination, self.window, self.conn_id = hook_factory, destination, window, conn_id
        self.before_publish = before_publish
        self.file_format = check_format(file_format)
        self.fields = _with_required(fields)
        self.copy_files = copy_files
        self.max_concurrency, self.slice_days = MAX_CONCURRENCY.check(max_concurrency), SLICE_DAYS.check(slice_days)
        self.row_group_rows, self.clock = row_group_rows, clock
        self.progress = Progress(conn_id, progress_seconds)
        self._hooks: list[InstagramHook] = []
        self._lock = threading.Lock()

    def _hook(self) -> InstagramHook:
        hook = self.hook_factory()
        with self._lock:
            self._hooks.append(hook)
        return hook

    def run(self) -> ExportSummary:
        started = time.monotonic()
        hook = self._hook()
        profile = hook.get_profile()
        # The id names every directory the export writes: checked before any path is built from it.
        user_id = checked_id(profile.get("id"), f"user id (answered by /me for connection {self.conn_id!r})")
        exported_at = self.clock().replace(microsecond=0)
        constants = {"exported_at": exported_at, "api_version": hook.params.api_version or "unversioned"}
        staged = StagedFiles(self.destination, user_id, self.window.key)
        staged.clear()
        slices = list(self.window.slices(slice_count(self.window, profile.get("media_count"), self.max_concurrency,
                                                     self.slice_days)))  # fmt: skip
        log.info("Export of %s (user %s): %s, in %d slice(s), as %s to %s", self.conn_id, user_id,
                 self.window.describe(), len(slices), self.file_format, self.destination)  # fmt: skip
        try:
            days, rows, counts = self._read_slices(slices, hook, staged, user_id, constants)
            owned = self._finish(staged, user_id, days, profile, constants)
            self._before_publish(counts)
            published = staged.publish(owned)
        except BaseException:
            staged.abort()
            raise
        self.progress.log(self._hooks, "done")
        return ExportSummary(
            conn_id=self.conn_id, user_id=user_id, username=profile.get("username"), window=self.window.describe(),
            file_format=self.file_format, rows=rows, data_files=len(published),
            bytes=sum(size for _, size in published), partitions=len(owned), files_copied=counts.copied,
            files_present=counts.present, files_unavailable=counts.unavailable, file_bytes=counts.bytes,
            api_calls=sum(h.api_calls for h in self._hooks),
            rate_limit_usage_percent=usage_percent(self._hooks),
            slices=len(slices), seconds=round(time.monotonic() - started, 3),
            first_day=self.window.first_day.isoformat() if self.window.first_day else None,
            last_day=self.window.last_day.isoformat(),
        )  # fmt: skip

    def _before_publish(self, counts: FileCounts) -> None:
        """Ask ``before_publish``; when it refuses, the media files this run already copied go too: nothing of
        a refused export outlives it (files of earlier runs stay)."""
        try:
            self.before_publish()
        except BaseException:
            for relative in counts.paths:
                with suppress(FileNotFoundError):
                    (self.destination / relative).unlink()
            raise

    def _read_slices(
        self, slices: list[ExportWindow], hook: InstagramHook, staged: StagedFiles, user_id: str,
        constants: dict[str, Any],
    ) -> tuple[set[date], int, FileCounts]:  # fmt: skip
        if len(slices) == 1:
            results = [self._read(slices[0], hook, staged, user_id, constants)]
        else:
            with ThreadPoolExecutor(max_workers=len(slices), thread_name_prefix="instagram-slice") as pool:
                futures = [pool.submit(self._read, s, self._hook(), staged, user_id, constants) for s in slices]
                results = [f.result() for f in futures]
        days, rows, counts = set(), 0, FileCounts()
        for slice_days, slice_rows, slice_counts in results:
            days |= slice_days
            rows += slice_rows
            counts.add(slice_counts)
        return days, rows, counts

    def _read(
        self, window: ExportWindow, hook: InstagramHook, staged: StagedFiles, user_id: str, constants: dict[str, Any]
    ) -> tuple[set[date], int, FileCounts]:
        writer = PartitionedWriter(staged, "media", user_id, MEDIA_SCHEMA, self.file_format, self.row_group_rows)
        with ExitStack() as stack:
            copier = None
            if self.copy_files:
                files_staging = staged.path(f"files-{threading.get_ident()}")
                copier = stack.enter_context(MediaFileCopier(hook, self.destination, files_staging, user_id))
            try:
                for page in hook.iter_media_pages(self.fields, since=window.since, until=window.until):
                    rows = flatten_media(page, user_id)
                    if copier is not None:
                        copier.copy(rows)
                    writer.add(media_table(rows, **constants), default_day=window.last_day)
                    self.progress.page(len(rows), self._hooks)
                writer.close()
            except BaseException:
                writer.abort()
                raise
        return writer.days, writer.rows, copier.counts if copier else FileCounts()

    def _finish(
        self, staged: StagedFiles, user_id: str, days: set[date], profile: dict[str, Any], constants: dict[str, Any]
    ) -> list[str]:
        """Empty parts for owned days without media, the profile snapshot; returns the owned directories."""
        owned_days = set(self.window.days()) or days or {self.window.last_day}
        empty = PartitionedWriter(staged, "media", user_id, MEDIA_SCHEMA, self.file_format)
        for day in sorted(owned_days - days):
            empty.add_empty(day)
        profiles = PartitionedWriter(staged, "profiles", user_id, PROFILE_SCHEMA, self.file_format)
        profiles.add_rows([profile_row(profile, **constants)], self.window.last_day)
        profiles.close()
        owned = [partition_dir("media", user_id, day) for day in sorted(owned_days)]
        return [*owned, partition_dir("profiles", user_id, self.window.last_day)]


def _with_required(fields: Sequence[str] | str | None) -> list[str] | None:
    """The caller's fields (a list, or one comma-separated string) plus ``id`` and ``timestamp``, which rows and
    partitions need."""
    if not fields:
        return None
    chosen = [f.strip() for f in (fields.split(",") if isinstance(fields, str) else fields) if f.strip()]
    return [name for name in ("id", "timestamp") if name not in chosen] + chosen
