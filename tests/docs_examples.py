"""The examples of the README (and of docs/), as the tests run them.

An example is a fenced code block right after a line ``<!-- example: KIND -->``:

- ``connect``: shell commands, run one by one as written (``airflow-instagram connect ...``);
- ``dag``: Python pasted, as written, into the body of a ``with DAG(...)`` block; its operators run in order;
- ``task``: Python run, as written, as the body of a task (``data_interval_start``/``data_interval_end`` given).
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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


def examples(kind: str, files: tuple[str, ...] = ("README.md",)) -> list[Example]:
    """Every example of ``kind`` in ``files`` (paths relative to the repository), in order."""
    found = []
    for name in files:
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
