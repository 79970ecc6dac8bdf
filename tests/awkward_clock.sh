#!/usr/bin/env bash
# The unit tests again, with the system clock at moments where date arithmetic breaks (`make test-clock`).
#
# libfaketime (Debian's `faketime`) fakes the clock of the test process and of every process it starts. The '@'
# form starts the fake clock at that moment and lets it run on, so a run that starts at the last second of a year
# crosses into the next one. A test that reads the wall clock for a date (a window of "today", a day boundary)
# fails here at one of these moments instead of in the first hour after some midnight in CI.
#
# The monotonic clock is faked too (no FAKETIME_DONT_FAKE_MONOTONIC): with it left real, Python's time.sleep
# gets EINVAL from libfaketime 0.9.10's clock_nanosleep (subprocess.wait sleeps), which is not a test's fault.
#
# The three runs go side by side; each one's log is printed only when it fails.
# Usage: tests/awkward_clock.sh [python]   (default .venv/bin/python); exit 1 when any run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-.venv/bin/python}"
MOMENTS=(
    "2026-12-02 00:00:30"  # just after midnight UTC: "the last hour" spans two days
    "2028-03-01 00:05:00"  # the first of a month, after a leap day
    "2026-12-31 23:59:59"  # the last second of a year: the run crosses into 2027
)
# Slow tests that read no clock at all are left out, to keep the three runs well under a minute on two cores.
NO_CLOCK=(
    --ignore=tests/unit/callbacks/test_signed_request.py  # bytes in, payload or typed error out (fuzzed)
    --ignore=tests/unit/tokens/test_frugal_reads.py       # which modules a DAG imports
)
export TZ=UTC  # the moments are UTC; the tests' days are UTC days

if ! command -v faketime >/dev/null 2>&1; then
    echo "faketime is not installed: run 'make faketime' (Debian's faketime package)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pids=()
for i in "${!MOMENTS[@]}"; do
    # Each run has its own basetemp: concurrent pytest sessions would otherwise prune each other's temp dirs.
    faketime -f "@${MOMENTS[$i]}" "$PYTHON" -m pytest tests/unit -x -q -p no:cacheprovider "${NO_CLOCK[@]}" \
        --basetemp="$work/tmp-$i" >"$work/log-$i" 2>&1 &
    pids+=("$!")
done

failed=0
for i in "${!MOMENTS[@]}"; do
    if wait "${pids[$i]}"; then
        echo "   clock from ${MOMENTS[$i]} UTC: $(grep -E '^[0-9]+ passed' "$work/log-$i" | tail -n 1)"
    else
        failed=1
        echo "   clock from ${MOMENTS[$i]} UTC: FAILED"
        sed 's/^/   | /' "$work/log-$i"
    fi
done
exit "$failed"
