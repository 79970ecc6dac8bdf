"""A real, throwaway Airflow 3 on this machine: the one harness the demo, the tests and the benchmarks use.

:class:`LocalAirflow` writes an ``AIRFLOW_HOME`` (its settings in ``airflow.cfg``, so that ``airflow`` commands
work on it afterwards), migrates its metadata database (SQLite in the home, or any SQLAlchemy URL, such as a
:class:`PostgresServer`'s), starts an API server, a scheduler (LocalExecutor) and a DAG processor on free loopback
ports, and speaks to them through the REST API. Tasks run as in production (scheduler -> executor -> task
supervisor -> Execution API), so the Airflow 3 rule "tasks cannot write to the metadata database" holds. With the
CeleryExecutor, :class:`CeleryWorker` adds workers, each with a home of its own, and :class:`RedisServer` is their
broker.
"""

from airflow_provider_instagram.local_airflow.celery import CeleryWorker
from airflow_provider_instagram.local_airflow.deployment import LocalAirflow, LocalAirflowError
from airflow_provider_instagram.local_airflow.logs import log_tail, readable_line
from airflow_provider_instagram.local_airflow.ports import free_port, free_ports
from airflow_provider_instagram.local_airflow.postgres import PostgresServer
from airflow_provider_instagram.local_airflow.redis import RedisServer

__all__ = [
    "CeleryWorker", "LocalAirflow", "LocalAirflowError", "PostgresServer", "RedisServer", "free_port", "free_ports",
    "log_tail", "readable_line",
]  # fmt: skip
