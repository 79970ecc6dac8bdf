"""The export DAG's settings: params over Variables over defaults, checked before any account is exported."""

from __future__ import annotations

import pytest

from airflow_provider_instagram.export.dag import create_media_export_dag, export_settings
from airflow_provider_instagram.options import LOOKBACK_DAYS

PARAMS = {"destination": "file:///data/instagram", "file_format": "parquet", "conn_ids": ["instagram_acme"]}


def test_the_lookback_param_is_bounded_in_the_trigger_form_and_in_the_settings() -> None:
    dag = create_media_export_dag(schedule=None)
    schema = dag.params.get_param("lookback_days").schema
    assert (schema["minimum"], schema["maximum"]) == (LOOKBACK_DAYS.low, LOOKBACK_DAYS.high)
    assert export_settings({**PARAMS, "lookback_days": 3}, "unused")[0]["lookback_days"] == 3
    with pytest.raises(ValueError, match=r"lookback_days .*not 1000000000: .*use full_snapshot=True"):
        export_settings({**PARAMS, "lookback_days": 10**9}, "unused")
    with pytest.raises(ValueError, match="lookback_days must be a whole number from 0 to 3660, not -2"):
        create_media_export_dag(lookback_days=-2)
