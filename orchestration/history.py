"""Bounded growth of the run history: a year of daily runs must not fill the disk.

Dagster keeps every run and its event log, the publish keeps a worklist file a day; both
are pruned by age (`schedule.keep_history_days`), a run with its event log file and its
asset-check evaluations, which Dagster's delete_run leaves behind. dbt's run folders and
the serving run folders are pruned by count where they are written (dbt/project.py,
serving.py).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from orchestration.actions_export import ACTIONS_DIR
from orchestration.internals.check_history import forget_check_executions

FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
_DAY = re.compile(r"^actions_(\d{4}-\d{2}-\d{2})\.(csv|parquet)$")


def prune_history(instance: DagsterInstance, serving: Path, keep_days: int,
                  now: dt.datetime) -> dict[str, int]:
    """Delete finished Dagster runs (with their event logs) created more than `keep_days`
    before `now`, and the published worklists written before then (by the file's time:
    the day in its name is the data's, which may lie far in the past)."""
    cutoff = now - dt.timedelta(days=keep_days)
    old = instance.get_run_records(filters=RunsFilter(statuses=FINISHED,
                                                      created_before=cutoff))
    for record in old:
        run_id = record.dagster_run.run_id
        instance.delete_run(run_id)
        forget_check_executions(instance, run_id)
    gone = 0
    folder = Path(serving) / ACTIONS_DIR
    if folder.is_dir():
        for path in folder.iterdir():
            if _DAY.match(path.name) and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                gone += 1
    return {"runs": len(old), "worklists": gone}
