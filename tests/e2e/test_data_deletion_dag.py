"""The bundled data-deletion DAG under a real scheduler, triggered by hand from Airflow's trigger form."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_instagram.export.dag import DESTINATION_VARIABLE
from airflow_provider_instagram.local_airflow import LocalAirflow
from tests.support.trigger_form import form_conf

DAG_ID = "instagram_data_deletion"


def test_the_form_as_it_opens_starts_a_run_that_deletes_nothing_and_says_so(
    airflow_server: LocalAirflow, tmp_path: Path
) -> None:
    """No user ids (the form's default) is a run that succeeds deleting nothing, as Meta's replayed requests need;
    its log tells the engineer who triggered it by hand which param to fill in."""
    exported = tmp_path / "export" / "media" / "user_id=111" / "dt=2025-01-01" / "part-00000.parquet"
    exported.parent.mkdir(parents=True)
    exported.write_bytes(b"PAR1")
    variable = {"key": DESTINATION_VARIABLE, "value": f"file://{tmp_path / 'export'}"}
    airflow_server.call("POST", "/api/v2/variables", expected=(201,), json=variable)
    try:
        airflow_server.wait_for_dag(DAG_ID)
        run_id = airflow_server.trigger(DAG_ID, conf=form_conf(airflow_server, DAG_ID))
        state = airflow_server.wait_for_run(DAG_ID, run_id, timeout=300)
    finally:
        airflow_server.request("DELETE", f"/api/v2/variables/{DESTINATION_VARIABLE}")

    assert state == "success", airflow_server.failed_task_logs(DAG_ID, run_id)
    assert exported.exists()
    assert airflow_server.xcom(DAG_ID, run_id, "delete_files") == []
    assert airflow_server.xcom(DAG_ID, run_id, "delete_rows") == {}
    log = airflow_server.wait_for_task_log(DAG_ID, run_id, "delete_files", "names no user: nothing deleted")
    assert "To delete a user's data, trigger this DAG with" in log and "user_ids" in log
