"""InstagramExportToSqlOperator's checks of its arguments, before any file or database is touched (the loads
themselves run against real databases in tests/integration/test_warehouse_load.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_instagram.exceptions import InstagramConfigError, InvalidIdError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.operators.warehouse import InstagramExportToSqlOperator

NOV_27, NOV_28 = datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)


def operator(tmp_path: Path, **options: Any) -> InstagramExportToSqlOperator:
    return InstagramExportToSqlOperator(task_id="load", source=f"file://{tmp_path}", sql_conn_id="warehouse", **options)


def test_a_user_id_argument_that_would_read_another_folder_is_refused_at_parse_time(tmp_path: Path) -> None:
    with pytest.raises(InvalidIdError, match=r"user_id '\.\./other' is not a plain Instagram id"):
        operator(tmp_path, user_id="../other")
    assert operator(tmp_path, user_id="{{ params.user_id }}").user_id == "{{ params.user_id }}", "checked at run"


def test_a_user_id_extra_that_would_read_another_folder_is_refused_naming_the_connection(
    connect: Callable[..., InstagramHook], tmp_path: Path
) -> None:
    connect(user_id="1/../../outside")
    load = operator(tmp_path, instagram_conn_id="instagram_default")
    context: Any = {"data_interval_start": NOV_27, "data_interval_end": NOV_28}
    with pytest.raises(InstagramConfigError, match=r"Connection 'instagram_default': extra 'user_id' is '1/\.\./"):
        load.execute(context)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lookback_days": -1}, "lookback_days must be a whole number from 0 to 3660, not -1"),
        ({"lookback_days": 10**9}, r"lookback_days .*not 1000000000: .*use full_snapshot=True"),
        ({"batch_rows": 0}, "batch_rows must be a whole number from 1 to 1000000, not 0"),
        ({"batch_rows": "many"}, "batch_rows must be a whole number"),
    ],
    ids=["negative-lookback", "huge-lookback", "no-rows", "word-rows"],
)
def test_bad_options_fail_at_parse_time(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        operator(tmp_path, user_id="17841400000000123", **options)


def test_templated_options_are_checked_once_rendered(tmp_path: Path) -> None:
    load = operator(tmp_path, user_id="17841400000000123", lookback_days="{{ params.lookback_days }}",
                    batch_rows="{{ params.batch_rows }}")  # fmt: skip
    load.render_template_fields({"params": {"lookback_days": 2, "batch_rows": 0}})
    context: Any = {"data_interval_start": NOV_27, "data_interval_end": NOV_28}
    with pytest.raises(ValueError, match="batch_rows must be a whole number from 1 to 1000000, not '0'"):
        load.execute(context)
    assert list(tmp_path.iterdir()) == []
