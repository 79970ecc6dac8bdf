"""What Airflow 3.3's trigger form does with a DAG's params: which fields it requires, and the conf it sends.

Read from the UI of apache-airflow-core 3.3.2 (``airflow/ui/dist/assets/index-*.js``, the FlexibleForm components):
a param is required when its schema has a ``type`` that does not list ``"null"``; the Trigger button stays disabled
while a required param's value is null or ``""`` (the field then says "This field is required"); and the form sends
every param's value as the run's conf (``conf = JSON.stringify({name: value})``), so a form left as it is sends the
params' defaults. The connection form shows a connection type's extra fields (``conn-fields``) with the same
components and the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from airflow_provider_instagram.local_airflow import LocalAirflow


def required_in_form(schema: Mapping[str, Any]) -> bool:
    """Whether the trigger form requires a param with this JSON schema."""
    kind = schema.get("type")
    return bool(kind) and not (isinstance(kind, list) and "null" in kind)


def blocks_trigger(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a param with this value keeps the Trigger button disabled."""
    return required_in_form(schema) and value in (None, "")


def form_conf(server: LocalAirflow, dag_id: str, **filled: Any) -> dict[str, Any]:
    """The conf the trigger form sends for ``dag_id``: each param's value as the API server serves the DAG's params
    to the UI, ``filled`` ones replaced.

    :raises AssertionError: a param would keep the Trigger button disabled (the form would send nothing).
    """
    params = server.call("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/details")["params"]
    conf = {name: filled.get(name, param["value"]) for name, param in params.items()}
    blocking = [name for name, param in params.items() if blocks_trigger(conf[name], param["schema"])]
    assert not blocking, f"the trigger form of {dag_id} requires {blocking} before it triggers"
    return conf
