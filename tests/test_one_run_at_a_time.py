"""One run at a time on a warehouse: while another process runs the pipeline on the same
state (on either engine, the DuckDB file StateStore.held keeps), a second run refuses with
one line naming the first, before it lands or records anything; a killed run leaves no
lock behind. (A run SIGKILLed mid-way and the next one completing: test_crash_safety.py;
the refusal beside a real run on a Spark cluster: test_spark_cluster.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from orchestration.cli import main
from orchestration.definitions import DAILY_JOB, build_definitions
from orchestration.resources import build_warehouse
from orchestration.runner import RunError, run_pipeline
from orchestration.warehouse.store import StateStore, WarehouseBusy
from orchestration.window import window_run_config
from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, make_settings
from tests.servers import die_with_parent

HOLD = ("import sys, time; from orchestration.warehouse.store import StateStore\n"
        "with StateStore(sys.argv[1], '1GB').held():\n"
        "    print('held', flush=True); time.sleep(600)\n")


@pytest.fixture
def holder(tmp_path) -> Iterator[tuple[Path, subprocess.Popen]]:
    """Another process holding the state file `tmp_path/run/warehouse.duckdb`, as a run
    does for its whole length."""
    state = tmp_path / "run" / "warehouse.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE,
                            text=True, preexec_fn=die_with_parent)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield state, proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_holder_is_refused_with_the_first_ones_pid(holder):
    state, proc = holder
    hold = StateStore(str(state), "1GB").held()
    with pytest.raises(WarehouseBusy, match=rf"pid {proc.pid} on .*, since 20\d\d-"):
        hold.__enter__()


def test_a_killed_holder_leaves_no_lock(holder):
    state, proc = holder
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert state.with_name(state.name + ".lock").read_text().startswith(f"pid {proc.pid} ")
    wh = build_warehouse(str(state), "1GB")
    with wh.store.held():  # the kernel let go of the dead process's lock
        assert wh.scalar("select 42") == 42


def test_a_run_beside_another_refuses_in_one_line_and_records_nothing(tmp_path, holder,
                                                                     capsys):
    state, proc = holder
    landing, days = generated_landing(tmp_path, GeneratorParams(users=20, days=3, seed=3))
    settings = make_settings(state.parent, landing)
    assert settings.warehouse == state
    with pytest.raises(RunError, match=rf"another run is using the warehouse .* \(pid {proc.pid} "):
        run_pipeline(settings, days[0], days[-1])
    assert main(["run", "--config", str(state.parent / "userops.yaml"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line
    assert err.startswith("userops: error: another run is using the warehouse ") and \
        f"(pid {proc.pid} " in err and "wait for that run to end" in err
    # nothing landed, built or recorded: no Dagster run, no serving folder
    assert not settings.dagster_home.exists() and not settings.serving.exists()


def test_a_run_the_daemon_launches_beside_another_fails_at_its_warehouse(tmp_path, holder):
    """The daemon or the UI launch the job without run_pipeline: the warehouse resource takes
    the same lock, so the run fails before any step, with the same line."""
    state, proc = holder
    landing, days = generated_landing(tmp_path, GeneratorParams(users=20, days=3, seed=3))
    settings = make_settings(state.parent, landing)
    job = build_definitions(settings).resolve_job_def(DAILY_JOB)
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False,
                                        run_config=window_run_config(days[0], days[-1]))
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    assert f"another run is using the warehouse {state} (pid {proc.pid} " in str(failure), \
        failure
    assert not any(e.is_step_success for e in result.all_events)
