"""What the plugin needs from the Airflow it runs in (the API server): the logged-in user, permissions,
single-use nonces, and DAG runs. Only this module (and the account writer's metadata-DB transport, for
connections) touches Airflow's internals."""

from __future__ import annotations

import time
from dataclasses import dataclass
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


def base_url() -> str:
    """The API server's public URL (``[api] base_url``), which Meta and browsers reach."""
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")


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
