"""The export DAG's settings: params over Variables over defaults, checked before any account is exported."""

from __future__ import annotations

import pytest

from airflow_provider_instagram.export.dag import (
    CONN_IDS_VARIABLE,
    DESTINATION_VARIABLE,
    FORMAT_VARIABLE,
    WAREHOUSE_VARIABLE,
    create_media_export_dag,
    export_settings,
    load_settings,
)
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


def test_the_forms_defaults_take_the_variables_and_load_nothing_without_a_warehouse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the trigger form sends as it opens (every param at its default: null) reads the Variables, as the
    params' help says; with no warehouse Variable the load is skipped."""
    from airflow.sdk.exceptions import AirflowSkipException

    monkeypatch.setenv(f"AIRFLOW_VAR_{DESTINATION_VARIABLE.upper()}", "file:///data/from-variable")
    monkeypatch.setenv(f"AIRFLOW_VAR_{FORMAT_VARIABLE.upper()}", "jsonl")
    monkeypatch.setenv(f"AIRFLOW_VAR_{CONN_IDS_VARIABLE.upper()}", '["instagram_acme"]')
    monkeypatch.delenv(f"AIRFLOW_VAR_{WAREHOUSE_VARIABLE.upper()}", raising=False)
    defaults = create_media_export_dag(schedule=None).params.validate()
    assert [defaults[k] for k in ("destination", "file_format", "conn_ids", "sql_conn_id")] == [None] * 4

    (settings,) = export_settings(defaults, "unused")

    assert settings["destination"] == "file:///data/from-variable" and settings["file_format"] == "jsonl"
    assert settings["instagram_conn_id"] == "instagram_acme"
    with pytest.raises(AirflowSkipException, match="No warehouse: set the DAG param sql_conn_id or the Variable"):
        load_settings(defaults, [settings], [])
