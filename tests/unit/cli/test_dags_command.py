"""``airflow-instagram dags install|path``: the bundled DAG files copied into a DAG folder, or located for a bundle.

The same commands run from a built wheel in a clean venv in ``tests/integration/test_wheel.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_instagram import dag_files
from airflow_provider_instagram.cli import main

REPO_DAGS = Path(__file__).resolve().parents[3] / "dags"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["dags", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_path_is_the_checkouts_dags_folder_in_an_editable_install(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "path")
    assert code == 0
    assert Path(out.strip()) == REPO_DAGS
    assert sorted(p.name for p in REPO_DAGS.glob("*.py")) == sorted(dag_files.DAG_FILES)


def test_path_prefers_the_folder_shipped_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As installed from the wheel: ``<site-packages>/airflow_provider_instagram/bundled_dags``."""
    package = tmp_path / "site-packages" / "airflow_provider_instagram"
    (package / "bundled_dags").mkdir(parents=True)
    for name in dag_files.DAG_FILES:
        (package / "bundled_dags" / name).write_text("# packaged\n")
    monkeypatch.setattr(dag_files, "__file__", str(package / "dag_files.py"))
    code, out, _ = run(capsys, "path")
    assert code == 0
    assert Path(out.strip()) == package / "bundled_dags"


def test_path_without_the_files_names_both_places_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dag_files, "__file__", str(tmp_path / "airflow_provider_instagram" / "dag_files.py"))
    code, out, err = run(capsys, "path")
    assert code == 1 and not out
    assert "bundled_dags" in err and str(tmp_path / "dags") in err and "pip install --force-reinstall" in err


def test_install_creates_the_folder_and_copies_the_three_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "airflow" / "dags"
    code, out, _ = run(capsys, "install", str(folder))
    assert code == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(dag_files.DAG_FILES)
    for name in dag_files.DAG_FILES:
        assert (folder / name).read_bytes() == (REPO_DAGS / name).read_bytes()
        assert f"created    {folder / name}" in out
    assert "dags_folder" in out


def test_a_second_install_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "install", str(tmp_path))[0] == 0
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    code, out, _ = run(capsys, "install", str(tmp_path))
    assert code == 0
    assert out.count("unchanged") == len(dag_files.DAG_FILES) and "created" not in out
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_a_different_file_is_not_overwritten_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "instagram_media_export.py"
    edited.write_text("# my own export\n")
    code, out, err = run(capsys, "install", str(tmp_path))
    assert code == 1 and not out
    assert str(edited) in err and "--force" in err and "nothing was written" in err
    assert edited.read_text() == "# my own export\n"
    assert [p.name for p in tmp_path.iterdir()] == [edited.name]  # not even the other two


def test_force_overwrites_only_what_differs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "install", str(tmp_path))[0] == 0
    edited = tmp_path / "instagram_data_deletion.py"
    edited.write_text("# my own deletion\n")
    code, out, _ = run(capsys, "install", "--force", str(tmp_path))
    assert code == 0
    assert f"replaced   {edited}" in out and out.count("unchanged") == len(dag_files.DAG_FILES) - 1
    assert edited.read_bytes() == (REPO_DAGS / edited.name).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(dag_files.DAG_FILES)  # no temporary file left


def test_a_file_in_place_of_the_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dags").write_text("")
    code, _, err = run(capsys, "install", "--force", str(tmp_path / "dags"))
    assert code == 1 and "is not a folder" in err


def test_the_bundle_setting_in_the_help_is_valid_json_with_both_bundles() -> None:
    """``dags path --help`` shows the setting to paste; tests/integration/test_wheel.py runs Airflow with it."""
    from airflow_provider_instagram.cli import BUNDLE_HELP

    text = BUNDLE_HELP[BUNDLE_HELP.index("dag_bundle_config_list = ") + len("dag_bundle_config_list = ") :]
    bundles = json.JSONDecoder().raw_decode(text)[0]
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    assert bundles == [
        {"name": "dags-folder", "classpath": local, "kwargs": {}},
        {"name": "instagram", "classpath": local, "kwargs": {"path": "<the folder this command prints>"}},
    ]
