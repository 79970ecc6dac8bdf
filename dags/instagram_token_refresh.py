"""Daily refresh of every Instagram account's long-lived token held in Airflow connections.

Thin file over the factory: see ``airflow_provider_instagram.tokens.dag.create_token_refresh_dag`` for the options.
"""

from airflow_provider_instagram.tokens.dag import create_token_refresh_dag

dag = create_token_refresh_dag()
