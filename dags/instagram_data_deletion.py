"""Deletes one Instagram user's exported files and warehouse rows when Meta's data-deletion callback asks.

Thin file over the factory: see ``airflow_provider_instagram.deletion.dag.create_data_deletion_dag``.
"""

from airflow_provider_instagram.deletion.dag import create_data_deletion_dag

dag = create_data_deletion_dag()
