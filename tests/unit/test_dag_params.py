"""Every bundled DAG triggers from Airflow's trigger form as it opens: its params validate with their defaults, and
none that may be left empty (its value then comes from a Variable, or is not needed) is required by the form."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG

from tests.support.trigger_form import blocks_trigger, required_in_form

DAGS = Path(__file__).resolve().parents[2] / "dags"


def bundled_dags() -> list[DAG]:
    found = []
    for path in sorted(DAGS.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"bundled_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append(module.dag)
    return found


@pytest.fixture(scope="module", params=bundled_dags(), ids=lambda dag: dag.dag_id)
def dag(request: pytest.FixtureRequest) -> DAG:
    bundled: DAG = request.param
    return bundled


def test_the_four_bundled_dags_are_checked() -> None:
    assert sorted(d.dag_id for d in bundled_dags()) == [
        "instagram_data_deletion", "instagram_insights", "instagram_media_export", "instagram_token_refresh",
    ]  # fmt: skip


def test_the_params_validate_with_their_defaults(dag: DAG) -> None:
    resolved = dag.params.validate()
    assert set(resolved) == set(dag.params.keys())


def test_the_form_triggers_with_the_defaults(dag: DAG) -> None:
    blocking = [name for name in dag.params if blocks_trigger(*_value_and_schema(dag, name))]
    assert blocking == []


def test_text_and_list_params_may_be_cleared_in_the_form(dag: DAG) -> None:
    """A cleared text or list box means "from the Variable" or "none": the form must not call it required. Numbers
    and switches keep their type: they have a real default."""
    clearable = [name for name in dag.params if _kinds(dag, name) & {"string", "array"}]
    assert clearable
    assert [name for name in clearable if required_in_form(_value_and_schema(dag, name)[1])] == []


def test_the_forms_rule_is_the_one_that_disabled_the_trigger_button() -> None:
    """The params as they were before (issue 16): an empty string, or an enum whose first option is empty."""
    assert blocks_trigger("", {"type": "string"})
    assert blocks_trigger("", {"type": "string", "enum": ["", "parquet"]})
    assert not blocks_trigger(None, {"type": ["null", "string"]})
    assert not blocks_trigger([], {"type": "array"})  # an empty list is a value to the form
    assert blocks_trigger(None, {"type": "array"})  # a cleared list box is not


def _value_and_schema(dag: DAG, name: str) -> tuple[Any, dict[str, Any]]:
    param = dag.params.get_param(name)
    return param.value, param.schema


def _kinds(dag: DAG, name: str) -> set[str]:
    kind = _value_and_schema(dag, name)[1].get("type")
    return set(kind) if isinstance(kind, list) else {kind}
