"""Reading a local Airflow's logs as a human would: task logs are JSON lines, shown as time, level and event."""

from __future__ import annotations

import json
from pathlib import Path


def readable_line(line: str) -> str:
    """One log line for a human: a JSON task-log record as time, level, event and its exceptions."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict) or "event" not in record:
        return line
    text = f"{str(record.get('timestamp', ''))[11:19]} {record.get('level', '')} {record['event']}".strip()
    for error in record.get("error_detail") or []:
        frames = error.get("frames") or [{}]
        where = f" (at {frames[-1].get('filename')}:{frames[-1].get('lineno')})" if frames[-1] else ""
        text += f"\n    {error.get('exc_type')}: {error.get('exc_value')}{where}"
    return text


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a component's or a task's log, readable."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(readable_line(line) for line in text.splitlines()[-lines:])
