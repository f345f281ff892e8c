"""Crash safety: SIGKILL the run in the middle of the dbt build and in the middle of the
Python scoring; the next run completes and its tables equal an uninterrupted run's."""

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

from tests.conftest import DAILY_TABLES, SMALL, make_settings, read_table, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

END = SMALL.start + dt.timedelta(days=SMALL.days - 1)
RUN = ("import sys; from orchestration.cli import main; "
       "sys.exit(main(['run', '--config', sys.argv[1], '--start', sys.argv[2], "
       "'--end', sys.argv[3], '-q']))")


def _started_steps(dagster_home: Path) -> set[str]:
    steps: set[str] = set()
    for db in (dagster_home / "history" / "runs").glob("*.db"):
        if db.name == "index.db":
            continue
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
            rows = con.execute("select step_key from event_logs "
                               "where dagster_event_type = 'STEP_START'").fetchall()
            con.close()
        except sqlite3.Error:
            continue  # being written; look again
        steps.update(r[0] for r in rows)
    return steps


def _kill_when(settings, step: str, delay: float) -> str:
    """Start the CLI run in its own process group; SIGKILL the whole group `delay` seconds
    after `step` started (dbt is a child process: a crash takes it down too)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, str(settings_path(settings)), SMALL.start.isoformat(),
         END.isoformat()],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while step not in _started_steps(settings.dagster_home):
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {step} started")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"{step} did not start within 600 s")
        time.sleep(0.05)
    time.sleep(delay)
    state = "running" if proc.poll() is None else f"already exited {proc.returncode}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return state


def settings_path(settings) -> Path:
    return settings.dagster_home.parent / "userops.yaml"


@pytest.fixture(scope="module")
def reference(small_run):
    return {t: read_table(small_run.warehouse, t, o) for t, o in DAILY_TABLES.items()}


@pytest.mark.parametrize("step, delay", [
    ("dbt_models", 3.0),  # models and tests are being built
    ("churn_scores", 0.3),  # the model is being fitted, or its tables written
])
def test_kill_then_rerun_equals_an_uninterrupted_run(tmp_path, small_landing, reference,
                                                    step, delay):
    settings = make_settings(tmp_path, small_landing)
    state = _kill_when(settings, step, delay)
    assert state == "running", f"the kill point missed the run ({state})"
    run(settings, SMALL.start, END)  # the next run, as the scheduler would start it
    for table, order in DAILY_TABLES.items():
        got = read_table(settings.warehouse, table, order)
        assert_frame_equal(got, reference[table], check_exact=False, rtol=1e-6,
                           obj=f"after a kill in {step}: {table}")
    runs = read_table(settings.warehouse, "marts.churn_model_runs", "snapshot_date")
    assert len(runs) == 1  # nothing counted twice
