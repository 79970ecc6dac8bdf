"""Masking of secrets in task logs, once per value and process.

Each ``mask_secret`` in a task is a round trip to its supervisor, which rebuilds its masking pattern; the token
refresh handles hundreds of accounts in one task, so asking twice for the same value is a cost worth avoiding.
"""

from __future__ import annotations

import threading

_MASKED: set[str] = set()
_LOCK = threading.Lock()


def mark_masked(value: str | None) -> None:
    """Record that ``value`` is already masked in this process (the task SDK masks the secrets it reads)."""
    if value:
        with _LOCK:
            _MASKED.add(value)


def mask(value: str | None) -> None:
    """Mask ``value`` in this task's logs (and its supervisor's), unless this process already did."""
    if not value:
        return
    with _LOCK:
        if value in _MASKED:
            return
        _MASKED.add(value)
    from airflow.sdk.log import mask_secret

    mask_secret(value)
