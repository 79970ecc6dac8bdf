"""Whether an account's data may still be published, asked again right before (and after) an export or a load
publishes it: a deletion must not be undone by a run that was already under way when it arrived."""

from __future__ import annotations

from collections.abc import Callable

from airflow_provider_instagram.account.extras import parse_extras
from airflow_provider_instagram.account.record import AccountRecord, format_time
from airflow_provider_instagram.exceptions import AccountRevokedError


def read_record(conn_id: str) -> AccountRecord:
    """The account's record as its connection holds it now, read through the task SDK."""
    from airflow.sdk import BaseHook

    connection = BaseHook.get_connection(conn_id)
    return AccountRecord.from_extras(conn_id, parse_extras(connection.extra, connection.conn_id))


class PublishGate:
    """Asks an account's connection whether its data may still be published.

    Meta's callbacks mark an account ``revoked`` (and, for a data-deletion request, ``deletion_requested_at``)
    *before* the deletion DAG starts. So an export or load that checks right before it publishes never publishes
    for a revoked account, and one that finds a deletion request right after it published removes what it
    published: either it sees the request, or its files were there before the deletion DAG ran.

    :param conn_id: the account's connection.
    :param read: reads the account's current record (the task SDK by default).
    """

    def __init__(self, conn_id: str, read: Callable[[str], AccountRecord] = read_record) -> None:
        self.conn_id, self._read = conn_id, read

    def check(self) -> None:
        """Raise :class:`AccountRevokedError` if the account was revoked or its data's deletion requested."""
        record = self._read(self.conn_id)
        if record.status == "revoked" or record.deletion_requested_at is not None:
            raise AccountRevokedError(
                f"Connection {self.conn_id!r} was marked {record.status} "
                f"({record.status_reason or 'no reason given'}) while its data was being exported or loaded: "
                "nothing was published. Reconnect the account to export it again"
            )

    def deletion_requested(self) -> bool:
        """Whether the account's data deletion has been requested (asked after publishing)."""
        return self._read(self.conn_id).deletion_requested_at is not None

    def deletion_note(self) -> str:
        """What a run that took back its output says in its skip message."""
        requested = format_time(self._read(self.conn_id).deletion_requested_at) or "now"
        return (
            f"Meta asked to delete the data of connection {self.conn_id!r} ({requested}) while it was being "
            "published: what this run published was removed again"
        )
