"""Daily insights of every Instagram account: media, account and audience metrics, next to the media export.

Thin file over the factory: see ``airflow_provider_instagram.insights.dag.create_insights_dag`` for the options.
"""

from airflow_provider_instagram.insights.dag import create_insights_dag

dag = create_insights_dag()
