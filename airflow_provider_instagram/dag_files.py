"""The bundled DAGs' thin files: where they are, and copying them into a DAG folder.

The files have one source, ``dags/`` at the repository's root. The wheel ships them inside the package as
``airflow_provider_instagram/bundled_dags/`` (hatch ``force-include``, see pyproject.toml); an editable install
imports the package from the checkout, where they are read from ``dags/`` next to it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The bundled DAGs' ids, their factories' defaults (tokens.dag, export.dag, deletion.dag, insights.dag); each file
# is named after its DAG.
REFRESH_DAG_ID = "instagram_token_refresh"
EXPORT_DAG_ID = "instagram_media_export"
DELETION_DAG_ID = "instagram_data_deletion"
INSIGHTS_DAG_ID = "instagram_insights"
DAG_FILES = tuple(f"{dag_id}.py" for dag_id in (REFRESH_DAG_ID, EXPORT_DAG_ID, DELETION_DAG_ID, INSIGHTS_DAG_ID))
PACKAGED_FOLDER = "bundled_dags"


class DagFilesError(Exception):
    """The packaged files are missing, or an install would overwrite a file that differs."""


def packaged_dags_folder() -> Path:
    """The folder holding the bundled DAG files: in the installed package, else ``dags/`` of the checkout."""
    package = Path(__file__).resolve().parent
    candidates = (package / PACKAGED_FOLDER, package.parent / "dags")
    for folder in candidates:
        if all((folder / name).is_file() for name in DAG_FILES):
            return folder
    raise DagFilesError(
        f"the bundled DAG files ({', '.join(DAG_FILES)}) are in neither {candidates[0]} nor {candidates[1]}: "
        "reinstall the package from its wheel (pip install --force-reinstall airflow-provider-instagram)"
    )


@dataclass(frozen=True)
class Installed:
    """What ``install`` did with one file: ``path`` was ``created``, ``unchanged`` or ``replaced``."""

    path: Path
    action: str


def install(folder: str | os.PathLike[str], *, force: bool = False) -> list[Installed]:
    """Copy the bundled DAG files into ``folder`` (created if missing).

    A file already there with the same content is left alone. A different one is only overwritten with
    ``force``; without it nothing at all is written and :class:`DagFilesError` names every such file.
    """
    source = packaged_dags_folder()
    target = Path(folder).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise DagFilesError(f"{target} exists and is not a folder: give the DAG folder (e.g. $AIRFLOW_HOME/dags)")
    plan: list[tuple[Path, bytes, str]] = []
    for name in DAG_FILES:
        content = (source / name).read_bytes()
        path = target / name
        if path.is_dir():
            raise DagFilesError(f"{path} is a folder: move it away to install the DAG file of that name")
        if not path.exists():
            plan.append((path, content, "created"))
        elif path.read_bytes() == content:
            plan.append((path, content, "unchanged"))
        else:
            plan.append((path, content, "replaced"))
    different = [str(path) for path, _, action in plan if action == "replaced"]
    if different and not force:
        raise DagFilesError(
            f"refusing to overwrite {', '.join(different)}: "
            f"{'it differs' if len(different) == 1 else 'they differ'} from the packaged DAG file"
            f"{'' if len(different) == 1 else 's'} and nothing was written. Keep your changes in a DAG file of "
            "your own (it may call the factory with your options) and run again with --force to overwrite"
        )
    target.mkdir(parents=True, exist_ok=True)
    for path, content, action in plan:
        if action != "unchanged":
            _write(path, content)
    return [Installed(path, action) for path, _, action in plan]


def _write(path: Path, content: bytes) -> None:
    """Write through a temporary file in the same folder, so a DAG processor never parses half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
