"""The run history is pruned by age: old Dagster runs and old published worklists."""

import datetime as dt
import os

import pytest
from dagster import DagsterInstance, job, op

from orchestration.history import prune_history

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs


@op
def nothing() -> None:
    pass


@job
def tiny() -> None:
    nothing()


def test_old_runs_and_worklists_are_pruned_new_ones_kept(tmp_path):
    actions = tmp_path / "serving" / "actions"
    actions.mkdir(parents=True)
    for day in ("2025-01-01", "2025-03-01"):
        for suffix in (".csv", ".parquet"):
            (actions / f"actions_{day}{suffix}").write_text("x")
    (actions / "notes.txt").write_text("not ours")
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=120)).timestamp()
    for name in ("actions_2025-01-01.csv", "actions_2025-01-01.parquet", "notes.txt"):
        os.utime(actions / name, (old, old))  # written 120 days ago
    with DagsterInstance.ephemeral() as instance:
        ids = [tiny.execute_in_process(instance=instance).run_id for _ in range(3)]
        now = dt.datetime.now(dt.UTC)
        # nothing is old yet but the two files written 120 days ago
        assert prune_history(instance, tmp_path / "serving", 90, now) == {
            "runs": 0, "worklists": 2}
        assert len(instance.get_runs()) == 3
        # 100 days on: the runs are older than 90 days, so are the files written then
        pruned = prune_history(instance, tmp_path / "serving", 90,
                               now + dt.timedelta(days=100))
        assert pruned == {"runs": 3, "worklists": 2} and instance.get_runs() == []
        assert all(instance.get_run_by_id(i) is None for i in ids)
    assert [p.name for p in actions.iterdir()] == ["notes.txt"]  # not ours: kept


def test_a_pruned_run_leaves_neither_its_event_log_file_nor_its_check_evaluations(tmp_path):
    """Dagster's delete_run kept both: an emptied database file per run (~2 MB, never
    shrunk) and the run's asset-check evaluations in the index (~1.6 MB a run here), so
    a pruned history still grew every day (benchmarks/history_size.py)."""
    import sqlite3

    import yaml
    from dagster import AssetCheckResult, AssetCheckSpec, MaterializeResult, asset, materialize

    from orchestration.runner import instance_yaml

    @asset(check_specs=[AssetCheckSpec("positive", asset="thing")])
    def thing():
        yield MaterializeResult()
        yield AssetCheckResult(passed=True)

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml(home)))
    shards = home / "history" / "runs"

    def checks() -> int:
        con = sqlite3.connect(shards / "index.db")
        try:
            return con.execute("select count(*) from asset_check_executions").fetchone()[0]
        finally:
            con.close()

    with DagsterInstance.from_config(str(home)) as instance:
        ids = [materialize([thing], instance=instance).run_id for _ in range(3)]
        assert {p.stem for p in shards.glob("*.db")} == {*ids, "index"}
        assert checks() == 3
        pruned = prune_history(instance, tmp_path / "serving", 90,
                               dt.datetime.now(dt.UTC) + dt.timedelta(days=100))
        assert pruned["runs"] == 3
        assert [p.name for p in shards.iterdir() if not p.name.startswith("index.db")] == []
        assert checks() == 0
        # and the instance goes on: a new run after the pruning
        materialize([thing], instance=instance)
        assert checks() == 1
