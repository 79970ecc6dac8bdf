"""The numeric options of the export and the warehouse load: their bounds, and the one check that applies them.

The operators check literal values when the DAG is parsed and templated ones (``{{ ... }}``) when the task runs;
the export and its window check again, so that calling them as a library is as safe. A value out of bounds is a
``ValueError`` that names the option, the value, the bounds and what to do instead, never a crash deep inside
(``slice_days=0`` divided by zero; ``lookback_days=10**9`` overflowed a date, and a million days would have
written a million empty parts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_WHOLE = re.compile(r"^[+-]?\d{1,12}$")  # a rendered template is a string; twelve digits are beyond every bound


@dataclass(frozen=True)
class Bound:
    """An integer option's inclusive bounds, and the advice for a caller outside them.

    :param name: the option's argument name.
    :param low: the smallest value allowed.
    :param high: the largest value allowed.
    :param advice: what the option does, or what to use instead; ends the error message.
    """

    name: str
    low: int
    high: int
    advice: str

    def check(self, value: Any) -> int:
        """``value`` as an ``int`` within the bounds; a string of digits (a rendered template) is accepted.

        :param value: the caller's value.
        :return: the value as an ``int``.
        :raises ValueError: naming the option, the value, the bounds and the advice.
        """
        number = _whole(value)
        if number is None or not self.low <= number <= self.high:
            raise ValueError(
                f"{self.name} must be a whole number from {self.low} to {self.high}, not {value!r}: {self.advice}"
            )
        return number


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):  # True is an int to Python, never a count to a caller
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        return int(value.strip())
    return None


LOOKBACK_DAYS = Bound(
    "lookback_days", 0, 3660,
    "the days re-read before the window (ten years at most); to read every media the API serves, use "
    "full_snapshot=True instead",
)  # fmt: skip
SLICE_DAYS = Bound(
    "slice_days", 1, 3660, "windows longer than this many days are split into slices of at least this many days"
)
MAX_CONCURRENCY = Bound(
    "max_concurrency", 1, 32, "the slices of a long window read side by side (1 reads it in one walk)"
)
BATCH_ROWS = Bound("batch_rows", 1, 1_000_000, "the rows staged per batch; the load holds one batch in memory")
ACCOUNT_BACKFILL_DAYS = Bound(
    "account_backfill_days", 0, 730,
    "the days of account insights filled back (Instagram keeps two years); 0 reads no account insights",
)  # fmt: skip
