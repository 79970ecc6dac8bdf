"""The token health report: a table for logs and the terminal, a JSON-able dict for XCom, and the alert text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_instagram.account.record import format_time, parse_time
from airflow_provider_instagram.tokens.refresh import AccountResult, Outcome
from airflow_provider_instagram.tokens.store import AccountListing

DEFAULT_WARN_DAYS = 7.0
# Outcomes that need a human whatever the expiry; a failed call only when the token is close to dying.
NEEDS_HUMAN = frozenset({Outcome.REAUTH_REQUIRED, Outcome.NOT_WRITABLE, Outcome.WRITE_FAILED})
COLUMNS = ("connection", "username", "status", "expires_at", "days_left", "refreshed_at", "outcome")


@dataclass(frozen=True)
class HealthReport:
    """Per account: username, expiry, days left, status, last refresh and this run's outcome.

    :param results: one result per account.
    :param now: the time the days left are counted from.
    :param warn_days: accounts whose token expires within this many days are called out.
    """

    results: Sequence[AccountResult]
    now: datetime
    warn_days: float = DEFAULT_WARN_DAYS

    @classmethod
    def of_listing(cls, listing: AccountListing, now: datetime, warn_days: float = DEFAULT_WARN_DAYS) -> HealthReport:
        """The report of the stored records alone, without a refresh (unreadable connections count as failed)."""
        results = [AccountResult.of(s, Outcome.LISTED, s.status_reason or "") for s in listing.records]
        results += [AccountResult(c, Outcome.FAILED, why, "unknown") for c, why in listing.unreadable.items()]
        return cls(results, now, warn_days)

    def days_left(self, result: AccountResult) -> float | None:
        expires = parse_time(result.expires_at)
        return None if expires is None else round((expires - self.now).total_seconds() / 86_400, 1)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "connection": r.conn_id, "username": r.username, "user_id": r.user_id, "status": r.status,
                "expires_at": r.expires_at, "days_left": self.days_left(r), "refreshed_at": r.refreshed_at,
                "outcome": str(r.outcome), "detail": r.detail,
            }
            for r in sorted(self.results, key=lambda r: r.conn_id)
        ]  # fmt: skip

    def attention(self) -> list[tuple[str, str]]:
        """``(conn_id, why)`` for every account a human must look at today."""
        found = []
        for r in sorted(self.results, key=lambda r: r.conn_id):
            left = self.days_left(r)
            if r.outcome in NEEDS_HUMAN:
                found.append((r.conn_id, f"{r.outcome}: {r.detail}"))
            elif r.status in ("reauth_required", "revoked"):
                found.append((r.conn_id, f"{r.status}: {r.detail}"))
            elif r.outcome is Outcome.OPTED_OUT:
                continue
            elif left is not None and left <= self.warn_days:
                found.append((r.conn_id, f"expires in {left} days despite refresh attempts ({r.outcome}: {r.detail})"))
            elif r.outcome is Outcome.FAILED and left is None:
                found.append((r.conn_id, f"failed and its expiry is unknown: {r.detail}"))
        return found

    def table(self) -> str:
        cells = [[_cell(row[c]) for c in COLUMNS] for row in self.rows()]
        widths = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(COLUMNS)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
        return "\n".join(lines)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(Counter(str(r.outcome) for r in self.results).items()))
        head = f"Instagram tokens: {len(self.results)} accounts ({counts or 'none'})"
        attention = self.attention()
        if not attention:
            return head + "; nothing needs attention."
        lines = [f"{head}; {len(attention)} need attention:"]
        lines += [f"- {conn_id}: {why}" for conn_id, why in attention]
        return "\n".join(lines)

    def to_xcom(self) -> dict[str, Any]:
        return {
            "generated_at": format_time(self.now),
            "warn_days": self.warn_days,
            "counts": dict(Counter(str(r.outcome) for r in self.results)),
            "attention": [{"connection": c, "reason": why} for c, why in self.attention()],
            "accounts": self.rows(),
        }


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        return value[:16].replace("T", " ")  # ISO timestamps to the minute
    return str(value)
