"""The account's ids, and the one rule for any Instagram id that becomes part of a path or a SQL value.

An account has two ids, and they must never be confused:

- ``user_id``: the **app-scoped id**, what ``/me`` answers as ``id`` (and the code exchange as ``user_id``). It
  is *the* id of an account's data: the export's partitions (``user_id=<id>``), the warehouse keys, the
  connection's ``user_id`` extra, and the id Meta's deauthorize and data-deletion callbacks name.
- ``professional_account_id``: the professional account's Instagram id, what the Instagram Login API answers as
  ``user_id`` on ``/me`` (the id webhooks name). Kept for reference only; Basic Display has none.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_instagram.exceptions import InvalidIdError

USER_ID = "user_id"
PROFESSIONAL_ACCOUNT_ID = "professional_account_id"
# Instagram's ids are decimal strings; letters and "_" are allowed for ids such as "<media>_<owner>". Nothing
# that could walk a path ("/", ".", "%") or quote SQL.
_PLAIN_ID = re.compile(r"^[0-9A-Za-z_]{1,64}$")


def checked_id(value: Any, what: str = "user id") -> str:
    """``value`` as a plain id string, or :class:`InvalidIdError` naming ``what``; ids become parts of paths."""
    text = "" if value is None else str(value)
    if not _PLAIN_ID.match(text):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise InvalidIdError(
            f"{what} {shown!r} is not a plain Instagram id (digits, letters, '_', at most 64): it is never used "
            "to build a path or a query; nothing was written"
        )
    return text


def is_plain_id(value: Any) -> bool:
    """Whether ``value`` passes :func:`checked_id`."""
    return value is not None and bool(_PLAIN_ID.match(str(value)))
