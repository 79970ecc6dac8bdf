"""What the plugin needs from the Airflow it runs in (the API server): the logged-in user, permissions,
connections, single-use nonces, and DAG runs. Only this module touches Airflow's internals."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from airflow_provider_instagram.exceptions import OnboardingError
from airflow_provider_instagram.hooks.connection import parse_extra
from airflow_provider_instagram.tokens.store import INSTAGRAM_CONN_TYPE

NONCE_PREFIX = "instagram_onboarding_used_"


@dataclass(frozen=True)
class AirflowUser:
    """The logged-in Airflow user, with what the plugin asks of the auth manager.

    :param id: the user's id (what onboarding states are bound to).
    :param name: the user's name, for messages.
    :param user: the auth manager's user object.
    """

    id: str
    name: str
    user: Any

    def _may(self, conn_id: str, methods: tuple[str, ...]) -> bool:
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

        details, manager = ConnectionDetails(conn_id=conn_id), get_auth_manager()
        return all(manager.is_authorized_connection(method=m, details=details, user=self.user) for m in methods)

    def may_edit_connection(self, conn_id: str) -> bool:
        return self._may(conn_id, ("POST", "PUT"))

    def may_read_connection(self, conn_id: str) -> bool:
        return self._may(conn_id, ("GET",))


async def current_user(request: Request) -> AirflowUser | None:
    """The user of the request's Airflow session (the UI's JWT cookie) or bearer token; ``None`` if neither."""
    import jwt
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
    if not token:
        return None
    try:
        user = await get_auth_manager().get_user_from_token(token)
    except jwt.InvalidTokenError:
        return None
    return AirflowUser(id=str(user.get_id()), name=str(user.get_name()), user=user)


def login_url(next_url: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager

    return str(get_auth_manager().get_url_login(next_url=next_url))


def secret_key() -> str:
    from airflow.configuration import conf

    return str(conf.get("api", "secret_key"))


def base_url() -> str:
    """The API server's public URL (``[api] base_url``), which Meta and browsers reach."""
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


@dataclass(frozen=True)
class StoredConnection:
    """An ``instagram`` connection row, as the callbacks need it.

    :param conn_id: the connection id.
    :param extra: its extras (the token is never read: a callback does not need it).
    """

    conn_id: str
    extra: dict[str, Any]


def instagram_connections() -> list[StoredConnection]:
    """Every ``instagram`` connection in the metadata DB."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(Connection).where(Connection.conn_type == INSTAGRAM_CONN_TYPE)).all()
        return [StoredConnection(row.conn_id, parse_extra(row.extra)) for row in rows]


def connection_type(conn_id: str) -> str | None:
    """The type of the connection in the metadata DB, or ``None`` when there is none."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.scalar(select(Connection.conn_type).where(Connection.conn_id == conn_id))
    return str(found) if found is not None else None


def save_connection(conn_id: str, fields: Mapping[str, Any], extra: Any) -> bool:
    """Create or update an ``instagram`` connection in one transaction; ``extra`` maps its current extras to
    the new ones, and a ``password`` of ``None`` clears the token. True when it was created."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select, update

    with create_session() as session:
        row = session.scalar(select(Connection).where(Connection.conn_id == conn_id).with_for_update())
        if row is not None and row.conn_type != INSTAGRAM_CONN_TYPE:  # never put a token over another password
            raise OnboardingError(
                f"Connection {conn_id!r} exists and is of type {row.conn_type!r}: choose another connection id"
            )
        created = row is None
        if row is None:
            row = Connection(conn_id=conn_id, conn_type=INSTAGRAM_CONN_TYPE)
            session.add(row)
        for name, value in fields.items():
            if name != "password":
                setattr(row, name, value)
            elif value:
                row.set_password(value)
        row.set_extra(json.dumps(extra(parse_extra(row.extra))))
        if "password" in fields and not fields["password"]:  # Connection.set_password(None) keeps the old one
            table = Connection.__table__
            session.execute(update(table).where(table.c.conn_id == conn_id).values(password=None, is_encrypted=False))
    return created


class VariableNonceLedger:
    """Used onboarding nonces as Airflow Variables: the key's uniqueness makes ``claim`` atomic across API
    server workers. Expired ones are removed as new ones arrive."""

    def claim(self, nonce: str, expires_at: int) -> bool:
        from airflow.models import Variable
        from airflow.utils.session import create_session
        from sqlalchemy.exc import IntegrityError

        try:
            with create_session() as session:
                note = "airflow-provider-instagram: a used sign-in link, kept until it expires"
                session.add(Variable(key=f"{NONCE_PREFIX}{nonce}", val=str(expires_at), description=note))
        except IntegrityError:
            return False
        self._prune()
        return True

    @staticmethod
    def _prune() -> None:
        from airflow.models import Variable
        from airflow.utils.session import create_session
        from sqlalchemy import select

        now = time.time()
        with create_session() as session:
            for row in session.scalars(select(Variable).where(Variable.key.startswith(NONCE_PREFIX))):
                if (row.val or "0").isdigit() and int(row.val) < now:
                    session.delete(row)


def trigger_run(dag_id: str, run_id: str, conf: dict[str, Any], user: str) -> None:
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.REST_API, run_id=run_id, conf=conf,
                triggering_user_name=user)  # fmt: skip


def run_state(dag_id: str, run_id: str) -> str | None:
    """The DAG run's state (queued, running, success, failed), or ``None`` when there is no such run."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        state = session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return str(state) if state is not None else None
