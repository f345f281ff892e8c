"""Dagster's asset-check evaluations of a deleted run, removed through the SQL event log's
private schema (declared in orchestration/internals)."""

from __future__ import annotations

from dagster import DagsterInstance
from dagster._core.storage.event_log import SqlEventLogStorage
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable


def forget_check_executions(instance: DagsterInstance, run_id: str) -> None:
    """Dagster's delete_run leaves the run's asset-check evaluations in the event log's
    index (~165 a run here, with their metadata: 1.6 MB a run that pruning never freed);
    they go with the run. On the SQL event logs (SQLite, PostgreSQL) only."""
    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        return
    with storage.index_connection() as conn:
        conn.execute(AssetCheckExecutionsTable.delete().where(
            AssetCheckExecutionsTable.c.run_id == run_id))
