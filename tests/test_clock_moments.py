"""No test may depend on the time of day: the unit tests again, with the system clock at moments where date
arithmetic breaks, through libfaketime (Debian's ``faketime``; ``make test`` installs it when missing).

libfaketime fakes the clock of the test process and of every process it starts. The ``@`` form starts the fake
clock at that moment and lets it run on, so a run that starts at the last second of a year crosses into the next
one. A test that reads the wall clock for a date (a window of "today", a day boundary) fails here at one of these
moments instead of in the first hour after some midnight in CI. The monotonic clock is faked too: left real,
Python's ``time.sleep`` gets EINVAL from libfaketime 0.9.10's ``clock_nanosleep``, which is no test's fault.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MOMENTS = {
    "just-after-midnight": "2026-12-02 00:00:30",  # "the last hour" spans two days
    "first-of-a-month-after-a-leap-day": "2028-03-01 00:05:00",
    "last-second-of-a-year": "2026-12-31 23:59:59",  # the run crosses into 2027
}
# Slow tests that read no clock at all are left out.
NO_CLOCK = ("tests/unit/callbacks/test_signed_request.py", "tests/unit/tokens/test_frugal_reads.py")


@pytest.mark.parametrize("moment", list(MOMENTS.values()), ids=list(MOMENTS))
def test_the_unit_tests_pass_with_the_clock_at(moment: str, tmp_path: Path) -> None:
    faketime = shutil.which("faketime")
    assert faketime, "faketime is not installed: run 'make faketime' (Debian's faketime package)"
    ignored = [f"--ignore={path}" for path in NO_CLOCK]
    command = [faketime, "-f", f"@{moment}", sys.executable, "-m", "pytest", "tests/unit", "-x", "-q",
               "-p", "no:cacheprovider", "-p", "no:xdist", f"--basetemp={tmp_path / 'pytest'}", *ignored]  # fmt: skip
    env = {**os.environ, "TZ": "UTC"}  # the moments are UTC; the tests' days are UTC days
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"unit tests with the clock from {moment} UTC:\n{done.stdout[-6000:]}"
    assert " passed" in done.stdout.splitlines()[-1]
