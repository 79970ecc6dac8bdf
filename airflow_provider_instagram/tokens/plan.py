"""Which accounts a refresh run covers, and in which batches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_instagram.account.record import AccountRecord
from airflow_provider_instagram.exceptions import InstagramConfigError, TokenNotWritableError, TokenStoreError
from airflow_provider_instagram.tokens.refresh import AccountResult, Outcome
from airflow_provider_instagram.tokens.store import TokenStore


@dataclass
class RefreshPlan:
    """The accounts to refresh, in batches, and the ones settled without a refresh (opted out, not writable).

    :param batches: lists of records, each a unit of work for one mapped task.
    :param settled: results of the accounts that need no refresh call.
    """

    batches: list[list[AccountRecord]] = field(default_factory=list)
    settled: list[AccountResult] = field(default_factory=list)

    @property
    def conn_ids(self) -> list[str]:
        return [s.conn_id for batch in self.batches for s in batch] + [r.conn_id for r in self.settled]


def plan_refresh(store: TokenStore, *, explicit: Iterable[str] = (), batch_size: int = 20) -> RefreshPlan:
    """List every ``instagram`` connection, add the explicitly named ones, and split them into batches.

    An explicitly named connection the store cannot see (an environment variable, a secrets backend) is
    reported ``not_writable`` with the fix, rather than failing the run with a 404.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    listing = store.list_accounts()
    records = {s.conn_id: s for s in listing.records}
    plan = RefreshPlan()
    for conn_id, why in sorted(listing.unreadable.items()):
        plan.settled.append(AccountResult(conn_id=conn_id, outcome=Outcome.FAILED, detail=why, status="unknown"))
    for conn_id in dict.fromkeys(explicit):
        if conn_id in records or conn_id in listing.unreadable:
            continue
        try:
            records[conn_id] = store.describe(conn_id)
        except (TokenStoreError, InstagramConfigError) as exc:
            outcome = Outcome.NOT_WRITABLE if isinstance(exc, TokenNotWritableError) else Outcome.FAILED
            plan.settled.append(AccountResult(conn_id=conn_id, outcome=outcome, detail=str(exc), status="unknown"))
    todo = []
    for record in records.values():
        if record.refresh_enabled:
            todo.append(record)
        else:
            plan.settled.append(AccountResult.of(record, Outcome.OPTED_OUT, "extra auto_refresh is false"))
    plan.batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    return plan


def record_to_xcom(record: AccountRecord) -> dict[str, Any]:
    """What a batch task needs of a listed account: its id and lifecycle fields (no secret)."""
    return {"conn_id": record.conn_id, "extra": record.to_extras()}


def record_from_xcom(data: dict[str, Any]) -> AccountRecord:
    return AccountRecord.from_extras(data["conn_id"], data.get("extra"))
