"""What the plugin needs from the Airflow it runs in (the API server): the logged-in user, permissions,
single-use nonces, DAG runs and states, XComs and connections. Only this module (and the account writer's
metadata-DB transport, for connections) touches Airflow's internals."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request

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


def configured_base_url() -> str | None:
    """The API server's public URL as configured (``[api] base_url``), ``None`` when it is not set."""
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback="") or "").rstrip("/") or None


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


def dag_exists(dag_id: str) -> bool:
    """Whether the DAG is known to this Airflow (parsed at least once)."""
    from airflow.models import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(select(DagModel.dag_id).where(DagModel.dag_id == dag_id)) is not None


@dataclass(frozen=True)
class DagStatus:
    """A DAG as the page reports it.

    :param dag_id: the DAG.
    :param deployed: whether Airflow parsed it at least once.
    :param paused: whether it is paused.
    :param last_run_state: its newest run's state, ``None`` without runs.
    :param last_run_at: when that run was due.
    """

    dag_id: str
    deployed: bool
    paused: bool = False
    last_run_state: str | None = None
    last_run_at: datetime | None = None


def dag_status(dag_id: str) -> DagStatus:
    from airflow.models import DagModel, DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        paused = session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == dag_id))
        if paused is None:
            return DagStatus(dag_id, deployed=False)
        newest = select(DagRun.state, DagRun.run_after).where(DagRun.dag_id == dag_id)
        run = session.execute(newest.order_by(DagRun.id.desc()).limit(1)).first()
    state, at = (str(run[0]), run[1]) if run is not None else (None, None)
    return DagStatus(dag_id, deployed=True, paused=bool(paused), last_run_state=state, last_run_at=at)


def newest_values(
    dag_id: str, task_id: str, *, key: str = "return_value", limit: int = 1
) -> list[tuple[Any, datetime]]:
    """A task's newest XCom values with their times, newest first (every map index of a mapped task)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(XComModel).where(XComModel.dag_id == dag_id, XComModel.task_id == task_id, XComModel.key == key)
    with create_session() as session:
        rows = session.scalars(query.order_by(XComModel.timestamp.desc()).limit(limit)).all()
        return [(XComModel.deserialize_value(row), row.timestamp) for row in rows]


def read_connection(conn_id: str) -> Any:
    """A connection from wherever Airflow keeps it (environment, secrets backend, metadata database); raises
    ``AirflowNotFoundException`` when there is none."""
    from airflow.models import Connection

    return Connection.get_connection_from_secrets(conn_id)


def connection_exists(conn_id: str) -> bool:
    from airflow.exceptions import AirflowNotFoundException

    try:
        read_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True
