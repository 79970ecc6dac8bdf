"""InstagramExportToSqlOperator's checks of its arguments, before any file or database is touched (the loads
themselves run against real databases in tests/integration/test_warehouse_load.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_instagram.exceptions import InvalidIdError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from airflow_provider_instagram.operators.warehouse import InstagramExportToSqlOperator


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
    context: Any = {"data_interval_start": None, "data_interval_end": None}
    with pytest.raises(InvalidIdError, match=r"'user_id' extra of connection 'instagram_default' '1/\.\./"):
        load.execute(context)
    assert list(tmp_path.iterdir()) == []
