"""A pip user's install: the wheel built from this repository, installed into a clean venv, runs the bundled DAGs.

Nothing here imports the editable checkout: the wheel is built with ``uv build --wheel``, installed with
``uv pip install`` into a new venv (with the dev venv's apache-airflow, every version pinned to the dev venv's so
that uv takes them from its cache, offline when it can), and every command runs with that venv's executables,
from a folder outside the repository, with a fresh ``AIRFLOW_HOME``. Airflow itself reports what it parsed:
``airflow dags reserialize`` parses the DAG bundles and writes them to the metadata database as the DAG
processor does, then ``airflow dags list`` and ``airflow dags list-import-errors`` read it back.

Two ways a user gets the DAGs, as the docs describe them: ``airflow-instagram dags install $AIRFLOW_HOME/dags``,
or an extra LocalDagBundle in ``[dag_processor] dag_bundle_config_list`` at the folder ``airflow-instagram dags
path`` prints. About 27 s with a warm uv cache on two busy cores (most of it the start-up of each of its 9 Airflow
commands; building the wheel and installing it take 2 s).
"""

from __future__ import annotations

import configparser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_instagram.dag_files import DAG_FILES

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "airflow_provider_instagram"
DAG_IDS = sorted(name.removesuffix(".py") for name in DAG_FILES)
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def uv() -> str:
    """uv from the dev venv (the Makefile installs it there), else from PATH."""
    found = Path(sys.executable).with_name("uv")
    path = str(found) if found.exists() else shutil.which("uv")
    if path is None:
        pytest.fail("uv is needed to build and install the wheel: pip install uv (make does it for .venv)")
    return path


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def run_uv(argv: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """uv from its cache alone when it can; when something is not cached, the same command with the index."""
    done = subprocess.run([uv(), *argv, "--offline"], cwd=cwd, capture_output=True, text=True, timeout=240)
    return done if done.returncode == 0 else run([uv(), *argv], cwd=cwd)


def dev_venv_pins(path: Path) -> Path:
    """A constraints file pinning every distribution of the dev venv (but the project itself) to its version."""
    pins: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        local = '"dir_info"' in (dist.read_text("direct_url.json") or "")
        if not name or local or name.lower() == "airflow-provider-instagram":
            continue  # the project, and anything else installed from a local folder, comes from no index
        pins.setdefault(name.lower(), f"{name}=={dist.version}")
    path.write_text("\n".join(sorted(pins.values())) + "\n")
    return path


def json_out(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON an ``airflow ... -o json`` command printed (Airflow may log a warning to stdout before it)."""
    out, decoder, start = done.stdout, json.JSONDecoder(), 0
    for line in done.stdout.splitlines(keepends=True):
        if line.startswith(("[", "{")):
            try:
                return decoder.raw_decode(out, start)[0]
            except ValueError:
                pass
        start += len(line)
    raise AssertionError(f"{done.args} printed no JSON:\n{out}\n{done.stderr}")


@dataclass(frozen=True)
class CleanVenv:
    """The venv with the wheel installed, and an empty metadata database migrated once, copied into each home."""

    root: Path
    bin: Path
    site_packages: Path
    migrated_db: Path

    def env(self, home: Path, **settings: str) -> dict[str, str]:
        """The user's environment: none of the dev venv's, of the checkout's or of this session's Airflow's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHON", "VIRTUAL_ENV"))}
        # bytecode is written (into the throwaway venv): each Airflow command after the first starts 2x faster
        env |= {"PATH": f"{self.bin}{os.pathsep}{env.get('PATH', '')}", "VIRTUAL_ENV": str(self.bin.parent),
                "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", **settings}  # fmt: skip
        return env

    def new_home(self, name: str) -> Path:
        home = self.root / name
        home.mkdir()
        shutil.copyfile(self.migrated_db, home / "airflow.db")
        return home

    def run(self, tool: str, *argv: str, home: Path, **settings: str) -> subprocess.CompletedProcess[str]:
        return run([str(self.bin / tool), *argv], env=self.env(home, **settings), cwd=self.root)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run_uv(["build", "--wheel", "--quiet", "--out-dir", str(out), str(REPO)], cwd=out)
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> CleanVenv:
    root = tmp_path_factory.mktemp("user")
    python = root / "venv" / "bin" / "python"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(python.parent.parent)], cwd=root)
    airflow = f"apache-airflow=={importlib.metadata.version('apache-airflow')}"
    run_uv(["pip", "install", "--quiet", "--python", str(python), "--link-mode", "hardlink",
            "--constraints", str(dev_venv_pins(root / "constraints.txt")), str(wheel), airflow], cwd=root)  # fmt: skip
    site_packages = Path(
        run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root).stdout.strip()
    )
    venv = CleanVenv(root, python.parent, site_packages, root / "migrated" / "airflow.db")
    venv.migrated_db.parent.mkdir()
    venv.run("airflow", "db", "migrate", home=venv.migrated_db.parent)
    return venv


def test_the_wheel_holds_the_dag_files_the_plugin_and_the_provider_info(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in DAG_FILES:  # one source: the repository's dags/, copied as is
            assert archive.read(f"{PACKAGE}/bundled_dags/{name}") == (REPO / "dags" / name).read_bytes()
        (entry_points,) = (n for n in names if n.endswith(".dist-info/entry_points.txt"))
        parser = configparser.ConfigParser()
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(archive.read(entry_points).decode())
    package = {p.relative_to(REPO).as_posix() for p in (REPO / PACKAGE).rglob("*") if p.is_file()}
    package = {p for p in package if "__pycache__" not in p}
    shipped = {n for n in names if n.startswith(f"{PACKAGE}/") and not n.startswith(f"{PACKAGE}/bundled_dags/")}
    assert shipped == package  # every module (the plugin/ among them) and py.typed, nothing else
    assert f"{PACKAGE}/plugin/__init__.py" in shipped and f"{PACKAGE}/py.typed" in shipped
    provider_info = f"{PACKAGE}.get_provider_info:get_provider_info"
    assert dict(parser["apache_airflow_provider"]) == {"provider_info": provider_info}
    assert dict(parser["airflow.plugins"]) == {"instagram": f"{PACKAGE}.plugin:InstagramPlugin"}
    assert dict(parser["console_scripts"]) == {"airflow-instagram": f"{PACKAGE}.cli:main"}


def parsed_dags(venv: CleanVenv, home: Path, **settings: str) -> list[dict[str, Any]]:
    """Parse every DAG bundle into the metadata database as the DAG processor does, and what Airflow lists."""
    venv.run("airflow", "dags", "reserialize", home=home, **settings)
    errors = json_out(venv.run("airflow", "dags", "list-import-errors", "-o", "json", home=home, **settings))
    assert errors == []
    listed: list[dict[str, Any]] = json_out(venv.run("airflow", "dags", "list", "-o", "json", home=home, **settings))
    assert sorted(dag["dag_id"] for dag in listed) == DAG_IDS
    return listed


def test_dags_install_into_the_dags_folder_then_airflow_parses_and_lists_the_bundled_dags(venv: CleanVenv) -> None:
    home = venv.new_home("installed")
    done = venv.run("airflow-instagram", "dags", "install", str(home / "dags"), home=home)
    assert done.stdout.count("created") == len(DAG_FILES)
    assert sorted(p.name for p in (home / "dags").iterdir()) == sorted(DAG_FILES)

    listed = parsed_dags(venv, home)
    assert {dag["bundle_name"] for dag in listed} == {"dags-folder"}
    assert {Path(dag["fileloc"]).parent for dag in listed} == {home / "dags"}


def test_a_dag_bundle_at_dags_path_parses_the_packaged_files(venv: CleanVenv) -> None:
    home = venv.new_home("bundle")
    folder = Path(venv.run("airflow-instagram", "dags", "path", home=home).stdout.strip())
    assert folder == venv.site_packages / PACKAGE / "bundled_dags"  # the installed wheel's, not the checkout's
    bundles = [  # the default bundle, kept, and the provider's: the setting as the docs give it
        {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
        {"name": "instagram", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(folder)}},
    ]
    listed = parsed_dags(venv, home, AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST=json.dumps(bundles))
    assert {dag["bundle_name"] for dag in listed} == {"instagram"}
    assert {Path(dag["fileloc"]).parent for dag in listed} == {folder}


def test_airflow_lists_the_provider_and_its_plugin(venv: CleanVenv, wheel: Path) -> None:
    home = venv.new_home("listing")
    providers = json_out(venv.run("airflow", "providers", "list", "-o", "json", home=home))
    ours = [p for p in providers if p["package_name"] == "airflow-provider-instagram"]
    assert [p["version"] for p in ours] == [wheel.name.split("-")[1]]
    plugins = json_out(venv.run("airflow", "plugins", "-o", "json", home=home))
    (plugin,) = (p for p in plugins if p["name"] == "instagram")
    assert plugin["source"].startswith("airflow-provider-instagram==")
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/instagram"]
