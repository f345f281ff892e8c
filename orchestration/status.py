"""`userops status`: where a deployment stands, in a few lines (or JSON for monitoring).

Read-only: the ledger of published windows, the daily table's days, the Dagster run
history and the serving file. A warehouse held by a running run is reported as busy.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

import duckdb
from dagster import DagsterInstance, RunsFilter

from orchestration.catch_up import (
    describe,
    missing_ranges,
    published_days,
    read_landed,
    read_ledger,
)
from orchestration.serving import SERVING_FILE
from orchestration.settings import Settings
from orchestration.window import WINDOW_END_TAG, WINDOW_START_TAG


@dataclass
class Status:
    published_through: str | None = None  # the last published day
    last_publish: str | None = None  # when (UTC)
    unpublished: list[str] = field(default_factory=list)  # ranges after the first published
    holes: list[str] = field(default_factory=list)  # ranges the daily tables lack
    last_run: dict | None = None  # id, status, window, started (UTC)
    next_tick: str | None = None  # the schedule's next run (reporting time zone), or null
    serving_published: str | None = None  # the serving file's time (UTC)
    warehouse: str = "ok"  # ok | missing | busy (a run holds it)


def next_tick(settings: Settings, now: dt.datetime) -> dt.datetime | None:
    """The daily schedule's next tick after `now`, in the reporting time zone."""
    s = settings.config.schedule
    if not s.enabled:
        return None
    local = now.astimezone(ZoneInfo(settings.config.timezone))
    tick = local.replace(hour=s.minutes_after_midnight // 60,
                         minute=s.minutes_after_midnight % 60, second=0, microsecond=0)
    return tick if tick > local else tick + dt.timedelta(days=1)


def _utc(t: dt.datetime | float) -> str:
    if not isinstance(t, dt.datetime):
        t = dt.datetime.fromtimestamp(t, dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def read_status(settings: Settings, now: dt.datetime | None = None) -> Status:
    now = now or dt.datetime.now(dt.UTC)
    status = Status()
    tick = next_tick(settings, now)
    status.next_tick = tick.strftime("%Y-%m-%d %H:%M %Z") if tick else None
    serving = settings.serving / SERVING_FILE
    if serving.exists():
        status.serving_published = _utc(serving.stat().st_mtime)
    status.last_run = _last_run(settings)
    if not settings.warehouse.exists():
        status.warehouse = "missing"
        return status
    try:
        con = duckdb.connect(str(settings.warehouse), read_only=True)
    except duckdb.Error:  # a run holds the file
        status.warehouse = "busy"
        return status
    try:
        _read_warehouse(con, status, settings, now)
    finally:
        con.close()
    return status


def _read_warehouse(con: duckdb.DuckDBPyConnection, status: Status, settings: Settings,
                    now: dt.datetime) -> None:
    tz = settings.config.timezone
    ledger = read_ledger(con)
    if ledger:
        first = min(p.window_start for p in ledger)
        days = sorted(published_days(ledger, first))
        status.published_through = days[-1].isoformat()
        status.last_publish = _utc(ledger[-1].published_at)
        gaps = missing_ranges(days)
        # and what landed after the last published day, through the last complete day
        landed = max((r.last_day for r in read_landed(con, tz)), default=days[-1])
        last = min(landed, now.astimezone(ZoneInfo(tz)).date() - dt.timedelta(days=1))
        if last > days[-1]:
            gaps.append((days[-1] + dt.timedelta(days=1), last))
        status.unpublished = [describe([r]) for r in gaps]
    has = {r[0] for r in con.execute(
        "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
    if "marts.fct_active_users_daily" in has:
        days = [r[0] for r in con.execute(
            "select distinct activity_date from marts.fct_active_users_daily "
            "where breakdown = 'all'").fetchall()]
        status.holes = [describe([r]) for r in missing_ranges(days)]


def _last_run(settings: Settings) -> dict | None:
    if not (settings.dagster_home / "dagster.yaml").exists():
        return None
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        runs = instance.get_run_records(filters=RunsFilter(), limit=1)
        if not runs:
            return None
        record = runs[0]
        run = record.dagster_run
        started = record.start_time
        return {"run_id": run.run_id, "status": run.status.value,
                "window": f"{run.tags.get(WINDOW_START_TAG, '?')} .. "
                          f"{run.tags.get(WINDOW_END_TAG, '?')}",
                "started": _utc(started) if started else None}


def format_status(s: Status) -> str:
    run = s.last_run
    lines = [
        f"published through: {s.published_through or 'nothing yet'}"
        + (f" (at {s.last_publish})" if s.last_publish else ""),
        "last run:          " + (f"{run['status']} {run['window']} (started {run['started']}, "
                                 f"id {run['run_id'][:8]})" if run else "none"),
        "unpublished days:  " + (", ".join(s.unpublished) or "none")
        + ("  (the next catching-up run builds them)" if s.unpublished else ""),
        "holes:             " + (", ".join(s.holes) or "none"),
        f"next tick:         {s.next_tick or 'schedule disabled'}",
        f"serving file:      {s.serving_published or 'not published yet'}",
    ]
    if s.warehouse != "ok":
        lines.append(f"warehouse:         {s.warehouse}"
                     + (" (a run holds it; try again when it ends)" if s.warehouse == "busy"
                        else ""))
    return "\n".join(lines)


def status_json(s: Status) -> str:
    return json.dumps(asdict(s), indent=2)
