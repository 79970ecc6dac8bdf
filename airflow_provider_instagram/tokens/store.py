"""Where accounts' tokens live: one small interface, so that other stores can follow the REST default."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_instagram.exceptions import TokenStoreError
from airflow_provider_instagram.hooks.connection import parse_extra
from airflow_provider_instagram.masking import mark_masked
from airflow_provider_instagram.tokens.state import TokenState

INSTAGRAM_CONN_TYPE = "instagram"


@dataclass(frozen=True)
class StoredToken:
    """An account's token and its connection's full extras, as the store read them.

    :param token: the token string (the connection's password), or ``None`` when empty.
    :param extra: every extra of the connection, lifecycle fields included.
    :param connection: the connection object itself, where the store has one (a hook can reuse it).
    """

    token: str | None = field(repr=False)
    extra: Mapping[str, Any] = field(repr=False)
    connection: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class TokenWrite:
    """One account's write: its new lifecycle fields, its new token (``None`` keeps the stored one), and the
    connection's current extras to merge them over.
    """

    state: TokenState
    token: str | None = field(repr=False)
    extra: Mapping[str, Any] = field(repr=False)


class TokenStore(ABC):
    """Reads and writes one account's token and its lifecycle fields (:class:`TokenState`).

    Implementations must never put a token into an exception message or a log line.
    """

    @abstractmethod
    def list_accounts(self) -> list[TokenState]:
        """Every ``instagram`` connection this store can write, with its lifecycle fields (no secrets)."""

    @abstractmethod
    def describe(self, conn_id: str) -> TokenState:
        """One connection's lifecycle fields; raises ``TokenNotWritableError`` when the store cannot write it."""

    @abstractmethod
    def save(self, state: TokenState, *, token: str | None, extra: Mapping[str, Any]) -> None:
        """Write ``state`` (merged over ``extra``, the connection's current extras) and, unless ``None``, the token.

        Raises ``TokenStoreError`` unless the write is known to have landed.
        """

    def save_many(self, writes: Sequence[TokenWrite]) -> list[TokenStoreError | None]:
        """Make every write; per write, ``None`` when it landed or the error when not. One failing write never
        stops the others. Stores that can batch override this; the default saves one by one."""
        errors: list[TokenStoreError | None] = []
        for write in writes:
            try:
                self.save(write.state, token=write.token, extra=write.extra)
            except TokenStoreError as exc:
                errors.append(exc)
            else:
                errors.append(None)
        return errors

    def read(self, conn_id: str) -> StoredToken:
        """The account's token and extras, read through the task SDK (the secret values, unmasked)."""
        from airflow.sdk import BaseHook

        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # the SDK raises AirflowNotFoundException and friends, with no token in them
            raise TokenStoreError(f"Cannot read connection {conn_id!r}: {exc}") from exc
        mark_masked(conn.password)  # the SDK masked it while reading; parse_extra does not mask again
        return StoredToken(token=conn.password or None, extra=parse_extra(conn.extra), connection=conn)
