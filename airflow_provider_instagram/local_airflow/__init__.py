"""A real, throwaway Airflow 3 on this machine: the one harness the demo, the tests and the benchmarks use.

:class:`LocalAirflow` writes an ``AIRFLOW_HOME`` (its settings in ``airflow.cfg``, so that ``airflow`` commands
work on it afterwards), migrates its metadata database (SQLite in the home, or any SQLAlchemy URL, such as a
:class:`PostgresServer`'s), starts an API server, a scheduler (LocalExecutor) and a DAG processor on free loopback
ports, and speaks to them through the REST API. Tasks run as in production (scheduler -> executor -> task
supervisor -> Execution API), so the Airflow 3 rule "tasks cannot write to the metadata database" holds.
"""

from airflow_provider_instagram.local_airflow.deployment import LocalAirflow, LocalAirflowError
from airflow_provider_instagram.local_airflow.logs import log_tail, readable_line
from airflow_provider_instagram.local_airflow.ports import free_port, free_ports
from airflow_provider_instagram.local_airflow.postgres import PostgresServer

__all__ = [
    "LocalAirflow", "LocalAirflowError", "PostgresServer", "free_port", "free_ports", "log_tail", "readable_line",
]  # fmt: skip
