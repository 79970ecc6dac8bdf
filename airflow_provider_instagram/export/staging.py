"""Staged publishing: files are written under a private prefix and moved into place only when complete.

Object stores have no atomic rename of a directory, but a single object appears whole or not at all. So every
file is written in full under ``<destination>/_staging/<key>/`` and then moved to its final name, which replaces
the file of a previous run of the same window at once; stale parts are deleted after. A reader therefore never
sees a partial file, and a failed export leaves its partitions exactly as they were.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.account.ids import checked_id

PART_FILE = re.compile(r"^part-\d{5}\.(parquet|jsonl|csv)$")
STAGING_DIR = "_staging"


def public_uri(destination: str | ObjectStoragePath, *parts: str) -> str:
    """The destination as a URI without connection id or credentials (``s3://aws@bucket/x`` -> ``s3://bucket/x``)."""
    split = urlsplit(str(destination))
    path = "/".join([split.path.rstrip("/"), *parts])
    return urlunsplit((split.scheme or "file", split.hostname or "", path, "", ""))


def is_local(path: ObjectStoragePath) -> bool:
    return bool(getattr(path.fs, "local_file", False))


def ensure_parent(path: ObjectStoragePath) -> None:
    """Create the parent directory where the filesystem has directories (object stores have none)."""
    if is_local(path):
        fs: Any = path.fs
        fs.makedirs(path.parent.path, exist_ok=True)


def move(source: ObjectStoragePath, target: ObjectStoragePath) -> None:
    """Move one complete file into place: an atomic rename on local disks; on object stores a server-side copy
    (the target appears whole, at once) and a delete, without the directory probing of a generic ``mv``."""
    fs: Any = target.fs
    ensure_parent(target)
    if is_local(target):
        fs.mv(source.path, target.path)
    else:
        fs.cp_file(source.path, target.path)
        fs.rm_file(source.path)


def remove_tree(path: ObjectStoragePath) -> None:
    if path.exists():
        fs: Any = path.fs
        fs.rm(path.path, recursive=True)


class StagedFiles:
    """The files of one export, staged until :meth:`publish` moves them into place.

    The staging prefix is ``_staging/user_id=<id>/<window>``: a retry of the same export clears what its failed
    predecessor left there, and deleting a user's data finds it.

    :param destination: the export's root.
    :param user_id: the account (a plain id, checked: it names a directory that :meth:`clear` removes).
    :param window: names the window (``ExportWindow.key``).
    :raises InvalidIdError: ``user_id`` is not a plain Instagram id.
    """

    def __init__(self, destination: ObjectStoragePath, user_id: str, window: str) -> None:
        self.destination = destination
        self.root = destination / STAGING_DIR / f"user_id={checked_id(user_id)}" / window
        self._staged: dict[str, ObjectStoragePath] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Remove anything staged under this export's key (debris of an earlier, failed attempt)."""
        remove_tree(self.root)
        for parent in (self.root.parent, self.root.parent.parent):  # local disks keep empty directories
            with suppress(OSError):
                if parent.exists() and not any(parent.iterdir()):
                    parent.rmdir()

    def path(self, relative: str) -> ObjectStoragePath:
        return self.root / relative

    @contextmanager
    def open(self, relative: str) -> Iterator[IO[bytes]]:
        """Open the staged file that will become ``<destination>/<relative>`` on publish."""
        staged = self.root / relative
        ensure_parent(staged)
        with staged.open("wb") as sink:
            yield sink
        with self._lock:
            self._staged[relative] = staged

    def staged(self) -> list[str]:
        with self._lock:
            return sorted(self._staged)

    def publish(self, owned_dirs: Iterable[str]) -> list[tuple[str, int]]:
        """Move every staged file into place, then delete the part files of ``owned_dirs`` this export did not
        write (a previous run's extra parts, or another format's). Returns ``(relative path, bytes)`` per file."""
        published = []
        for relative in self.staged():
            staged = self._staged[relative]
            size = int(staged.size())
            move(staged, self.destination / relative)
            published.append((relative, size))
        written = {relative for relative, _ in published}
        for owned in owned_dirs:
            directory = self.destination / owned
            if not directory.exists():
                continue
            for child in directory.iterdir():
                relative = f"{owned}/{child.name}"
                if PART_FILE.match(child.name) and relative not in written:
                    child.unlink()
        self.clear()
        return published

    def abort(self) -> None:
        """Drop everything staged; published files of earlier runs stay as they were."""
        self.clear()
