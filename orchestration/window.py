"""The run window: the reporting days one run (re)builds, and the daily schedule.

Why not Dagster partitions: Dagster records one planned and one materialization event
per asset and partition, ~25-35 ms each on its SQLite storage (measured:
`benchmarks/dagster_events.py`). A 365-day backfill of the ~30 dbt models that are built
by day spent minutes recording and seconds computing. So the assets are unpartitioned
and every run carries its window (first and last reporting day) in run config and tags:
the schedule asks for yesterday, a backfill is one run over its days, and the Dagster
UI shows each run's window as its tags. Cost per run: O(assets), not O(assets x days).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dagster import (
    Config,
    DagsterRunStatus,
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from orchestration.config import UseropsConfig

WINDOW_START_TAG = "userops/window_start"
WINDOW_END_TAG = "userops/window_end"
SCHEDULE_TAG = "dagster/schedule_name"  # set by Dagster on every run a schedule launches
# a run of these statuses has the day in hand; after a failed one a later tick may retry
_LIVE_OR_DONE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED,
                 DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
                 DagsterRunStatus.SUCCESS]
MODELS_OP = "dbt_models"  # writes the window, then builds every model but the scored
SCORED_OP = "dbt_scored_models"


class DbtRunConfig(Config):
    full_refresh: bool = False


class DailyRunConfig(DbtRunConfig):
    """The days to build (ISO dates, inclusive). Left out, as when materialising from the
    Dagster UI: yesterday in the reporting time zone, the last complete day. `catch_up`:
    `start` is chosen when the run has landed its files, the first day not published yet
    or whose data changed since (orchestration/catch_up.py), as the schedule does."""

    start: str | None = None
    end: str | None = None
    catch_up: bool = False
    # keep the days built so far when a history-shaping setting changed (definition.py)
    accept_definition_change: bool = False


def yesterday(timezone: str, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)


def resolve_window(cfg: DailyRunConfig, timezone: str) -> tuple[dt.date, dt.date]:
    last_complete = yesterday(timezone)
    start = dt.date.fromisoformat(cfg.start) if cfg.start else None
    end = dt.date.fromisoformat(cfg.end) if cfg.end else None
    start, end = start or end or last_complete, end or start or last_complete
    if end < start:
        raise ValueError(f"run window ends {end} before it starts {start}")
    return start, end


def window_run_config(start: dt.date | None, end: dt.date, full_refresh: bool = False,
                      catch_up: bool = False, accept_definition_change: bool = False
                      ) -> dict[str, Any]:
    """`start` None with `catch_up`: chosen in the run (DailyRunConfig)."""
    window = {"start": start.isoformat() if start else None, "end": end.isoformat(),
              "full_refresh": full_refresh, "catch_up": catch_up}
    if accept_definition_change:
        window["accept_definition_change"] = True
    ops: dict[str, Any] = {MODELS_OP: {"config": window}}
    if full_refresh:
        ops[SCORED_OP] = {"config": {"full_refresh": True}}
    return {"ops": ops}


def window_tags(start: dt.date | None, end: dt.date) -> dict[str, str]:
    """A catch-up run's first day is chosen in the run: its tag says so."""
    return {WINDOW_START_TAG: start.isoformat() if start else "catch-up",
            WINDOW_END_TAG: end.isoformat()}


def build_daily_schedule(job: JobDefinition, config: UseropsConfig):
    """Every day at schedule.minutes_after_midnight (reporting time zone): one run that
    catches up through the day before (from the first day not published yet). A second
    tick for the same day (the daemon restarted after the schedule moved) launches
    nothing while a run of that day is queued, running or succeeded: Dagster's run key
    only dedupes runs of one tick time, not of one day."""
    s = config.schedule
    minutes = s.minutes_after_midnight
    name = f"{job.name}_schedule"

    @schedule(
        name=name,
        job=job,
        cron_schedule=f"{minutes % 60} {minutes // 60} * * *",
        execution_timezone=config.timezone,
        default_status=DefaultScheduleStatus.RUNNING if s.enabled
        else DefaultScheduleStatus.STOPPED,
        description="One run a day through the day before (the last complete day), from "
        "the first day not published yet: days missed while down or held back included.",
    )
    def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        day = yesterday(config.timezone, context.scheduled_execution_time)
        if context.instance_ref is not None:
            done = context.instance.get_runs(RunsFilter(
                tags={SCHEDULE_TAG: name, WINDOW_END_TAG: day.isoformat()},
                statuses=_LIVE_OR_DONE), limit=1)
            if done:
                return SkipReason(f"the run through {day} exists already "
                                  f"({done[0].run_id}, {done[0].status.value})")
        return RunRequest(run_key=day.isoformat(),
                          run_config=window_run_config(None, day, catch_up=True),
                          tags=window_tags(None, day))

    return daily_schedule
