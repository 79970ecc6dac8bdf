"""Daily export of every Instagram account's media and profile to object storage.

Thin file over the factory: see ``airflow_provider_instagram.export.dag.create_media_export_dag`` for the options.
"""

from airflow_provider_instagram.export.dag import create_media_export_dag

dag = create_media_export_dag()
