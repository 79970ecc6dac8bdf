"""The examples of the README and of the pages of docs/, as the tests run them.

An example is a fenced code block right after a line ``<!-- example: KIND -->``:

- ``connect``: shell commands, run one by one as written (``airflow-instagram connect ...``);
- ``dag``: Python pasted, as written, into the body of a ``with DAG(...)`` block; its operators run in order;
- ``task``: Python run, as written, as the body of a task (``data_interval_start``/``data_interval_end`` given).

They are read from README.md first, then from the pages in the order of mkdocs.yml's ``nav`` (then any page the nav
leaves out, sorted; ``mkdocs build --strict`` refuses those anyway). The order matters: the ``dag`` examples are
chained in it, so the export's (docs/export.md) comes before the warehouse load's (docs/warehouse.md).
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
_EXAMPLE = re.compile(r"<!-- example: (\w+) -->\s*\n```\w*\n(.*?)```", re.S)


@dataclass(frozen=True)
class Example:
    """One tagged code block.

    :param kind: ``connect``, ``dag`` or ``task``.
    :param code: the block's text.
    :param source: the file it comes from, for messages.
    """

    kind: str
    code: str
    source: str


def _nav_pages(nav: Any) -> list[str]:
    """The page paths of an mkdocs ``nav`` (a list of pages, ``{title: page}`` or ``{title: [sections]}``), in order."""
    if isinstance(nav, str):
        return [nav] if nav.endswith(".md") else []
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    return []


def documentation_files() -> tuple[str, ...]:
    """README.md, then every page of docs/ in the nav's order, then the pages the nav leaves out, sorted
    (paths relative to the repository)."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    docs_dir = config.get("docs_dir", "docs")
    listed = [f"{docs_dir}/{page}" for page in _nav_pages(config.get("nav", []))]
    found = sorted(path.relative_to(REPO).as_posix() for path in (REPO / docs_dir).rglob("*.md"))
    return ("README.md", *[p for p in listed if p in found], *[p for p in found if p not in listed])


def examples(kind: str, files: tuple[str, ...] | None = None) -> list[Example]:
    """Every example of ``kind`` in ``files`` (paths relative to the repository; by default README.md and the pages
    of docs/, see :func:`documentation_files`), in order."""
    found = []
    for name in documentation_files() if files is None else files:
        text = (REPO / name).read_text()
        found += [Example(k, code, name) for k, code in _EXAMPLE.findall(text) if k == kind]
    return found


def commands(example: Example) -> list[list[str]]:
    """The shell commands of an example, each as its words (comments and continuation lines handled)."""
    lines = example.code.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if shlex.split(line, comments=True)]


def dag_file(dag_id: str, dag_examples: list[Example], task_examples: list[Example]) -> str:
    """A DAG file running the examples as written: ``dag`` blocks in its body (their tasks chained in order),
    each ``task`` block as the body of a task of its own."""
    body = [textwrap.indent(e.code, "    ") for e in dag_examples]
    for n, example in enumerate(task_examples):
        body.append(
            f"    @task(task_id='example_task_{n}')\n"
            f"    def example_task_{n}(data_interval_start=None, data_interval_end=None):\n"
            f"{textwrap.indent(example.code, '        ')}\n"
            f"    example_task_{n}()\n"
        )
    return (
        "from datetime import datetime\n\n"
        "from airflow.sdk import DAG, chain, task\n\n"
        f"with DAG({dag_id!r}, schedule=None, start_date=datetime(2025, 1, 1), catchup=False) as dag:\n"
        + "\n".join(body)
        + "\n    chain(*dag.tasks)\n"
    )
