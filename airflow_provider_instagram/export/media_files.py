"""Copying media files (the image or video bytes) beside the metadata, once per media, with a content hash."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from airflow.sdk import ObjectStoragePath
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from airflow_provider_instagram.account.ids import checked_id
from airflow_provider_instagram.exceptions import InstagramMediaUrlExpiredError, InstagramTransientError
from airflow_provider_instagram.export.staging import ensure_parent, move
from airflow_provider_instagram.hooks.instagram import InstagramHook

log = logging.getLogger(__name__)
CHUNK = 1 << 16


@dataclass
class FileCounts:
    """What the copier did: files copied, already present (not copied again), unavailable; bytes copied."""

    copied: int = 0
    present: int = 0
    unavailable: int = 0
    bytes: int = 0
    paths: list[str] = field(default_factory=list)
    """The files this run copied (relative to the destination): taken back if its publish is refused."""

    def add(self, other: FileCounts) -> None:
        self.copied += other.copied
        self.present += other.present
        self.unavailable += other.unavailable
        self.bytes += other.bytes
        self.paths += other.paths


def file_path(user_id: str, row: dict[str, Any]) -> str:
    """``files/user_id=<id>/<media id>.jpg`` (``.mp4`` for videos): stable, so a copied file is found again.

    :raises InvalidIdError: the user id or the media id is not a plain Instagram id.
    """
    extension = "mp4" if row.get("media_type") == "VIDEO" else "jpg"
    return f"files/user_id={checked_id(user_id)}/{checked_id(row.get('id'), 'media id')}.{extension}"


class MediaFileCopier:
    """Copies the media files of rows to ``<destination>/files/`` and records path, SHA-256 and size in each row.

    A URL the CDN refuses (HTTP 403, expired signature) is re-read once from the API and tried again. A file
    already at its place is not downloaded again (its hash is read back from storage).

    :param hook: opens CDN URLs and re-reads expired ones.
    :param destination: the export's root.
    :param staging: a private directory for files being downloaded (moved into place when complete).
    :param user_id: the account, part of each file's path.
    :param max_workers: downloads at once.
    :param attempts: tries per file on broken connections and 5xx.
    """

    def __init__(
        self, hook: InstagramHook, destination: ObjectStoragePath, staging: ObjectStoragePath, user_id: str,
        max_workers: int = 8, attempts: int = 3,
    ) -> None:  # fmt: skip
        self.hook, self.destination, self.staging = hook, destination, staging
        self.user_id = checked_id(user_id)
        self.attempts = attempts
        self.counts = FileCounts()
        self._existing: set[str] | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="instagram-files")

    def __enter__(self) -> MediaFileCopier:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def copy(self, rows: list[dict[str, Any]]) -> None:
        """Copy the files of ``rows`` (those with a ``media_url``) side by side; fills their ``file_*`` columns.

        :raises InvalidIdError: a media id is not a plain Instagram id (before any of the rows' files is copied).
        """
        copies = [(row, file_path(self.user_id, row)) for row in rows if row.get("media_url")]
        for future in [self._pool.submit(self._copy, row, relative) for row, relative in copies]:
            future.result()

    def _present(self) -> set[str]:
        """Names of the account's files already copied: one listing instead of a probe per file."""
        with self._lock:
            if self._existing is None:
                directory = self.destination / "files" / f"user_id={self.user_id}"
                fs: Any = directory.fs
                found = fs.find(directory.path) if directory.exists() else []
                self._existing = {str(p).rsplit("/", 1)[-1] for p in found}
            return self._existing

    def _copy(self, row: dict[str, Any], relative: str) -> None:
        final = self.destination / relative
        if final.name in self._present():
            digest, size = _hash_of(final)
            self._count(present=1)
        else:
            try:
                digest, size = self._download(row, final)
            except InstagramMediaUrlExpiredError as exc:
                log.warning("Media %s: no file copied, the CDN still refuses it after a fresh URL: %s", row["id"], exc)
                self._count(unavailable=1)
                return
            self._count(copied=1, size=size, path=relative)
        row.update(file_path=relative, file_sha256=digest, file_bytes=size)

    def _download(self, row: dict[str, Any], final: ObjectStoragePath) -> tuple[str, int]:
        retrying = Retrying(
            retry=retry_if_exception_type(InstagramTransientError), stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=10), reraise=True,
        )  # fmt: skip
        result: tuple[str, int] = retrying(self._download_once, row, final)
        return result

    def _download_once(self, row: dict[str, Any], final: ObjectStoragePath) -> tuple[str, int]:
        try:
            return self._write(str(row["media_url"]), final)
        except InstagramMediaUrlExpiredError:
            fresh = self.hook.refresh_media_urls(str(row["id"]))
            if not fresh.get("media_url"):
                raise
            row["media_url"] = fresh["media_url"]
            row["thumbnail_url"] = fresh.get("thumbnail_url", row.get("thumbnail_url"))
            return self._write(str(row["media_url"]), final)

    def _write(self, url: str, final: ObjectStoragePath) -> tuple[str, int]:
        staged = self.staging / f"{uuid.uuid4().hex}.part"
        digest, size = hashlib.sha256(), 0
        ensure_parent(staged)
        try:
            with self.hook.open_media_file(url, CHUNK) as chunks, staged.open("wb") as sink:
                for chunk in chunks:
                    digest.update(chunk)
                    sink.write(chunk)
                    size += len(chunk)
            move(staged, final)
        except BaseException:
            with suppress(OSError):  # the export's staging directory is dropped at the end anyway
                staged.unlink()
            raise
        return digest.hexdigest(), size

    def _count(
        self, copied: int = 0, present: int = 0, unavailable: int = 0, size: int = 0, path: str | None = None
    ) -> None:
        with self._lock:
            self.counts.add(FileCounts(copied, present, unavailable, size, [path] if path else []))


def _hash_of(path: ObjectStoragePath) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
