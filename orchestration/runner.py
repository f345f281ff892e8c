"""Run the daily pipeline in process over a range of days."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import duckdb
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from data_quality.landing import landing_time_range
from orchestration.assets.report import pending_dir
from orchestration.catch_up import describe, published_days, read_ledger
from orchestration.dbt.helpers import RUN_WINDOW_TABLE
from orchestration.dbt.project import prune_dbt_runs
from orchestration.definitions import DAILY_JOB, LANDING_OP, build_definitions
from orchestration.progress import Progress, activate
from orchestration.report.build import build_html, write_page
from orchestration.resources import warehouse_for
from orchestration.serving import SERVING_FILE
from orchestration.settings import Settings, file_rules, landing_mappings
from orchestration.warehouse.store import WarehouseBusy
from orchestration.window import MODELS_OP, window_run_config, window_tags

log = logging.getLogger(__name__)


class RunError(RuntimeError):
    pass


class HeldBack(RunError):
    """The run failed, so nothing was published: why (one line per failed step or
    blocking check, with its numbers), what BI still reads, and the report that says so."""

    def __init__(self, reasons: list[str], serving: str, report: Path | None) -> None:
        self.reasons, self.serving, self.report = reasons, serving, report
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        lines = ["run held back, nothing was published"]
        lines += [f"  stopped by: {r}" for r in self.reasons or ["see the Dagster UI"]]
        lines.append(f"  serving:    {self.serving}")
        if self.report is not None:
            lines.append(f"  report:     {self.report} (marked held back, the reasons first)")
        return lines


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    severity: str
    metadata: dict


@dataclass(frozen=True)
class RunOutcome:
    start: dt.date
    end: dt.date
    checks: list[CheckOutcome]

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed]


INSTANCE_YAML = {
    # One writer at a time on the DuckDB file, across runs too.
    "concurrency": {"pools": {"default_limit": 1}},
    "telemetry": {"enabled": False},
}


EVENT_LOG_MODULE = "orchestration.internals.event_log"
OLD_EVENT_LOG_MODULE = "orchestration.instance_storage"


def instance_yaml(home: Path) -> dict:
    # the stock layout (history/runs under the home), with engines kept open
    events = {"module": EVENT_LOG_MODULE,
              "class": "CachedEngineSqliteEventLogStorage",
              "config": {"base_dir": str(home / "history" / "runs")}}
    return {**INSTANCE_YAML, "event_log_storage": events}


def instance_for(settings: Settings) -> DagsterInstance:
    """A persistent instance under dagster_home, so `dagster dev` shows CLI runs."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(yaml.safe_dump(instance_yaml(home)))
    elif OLD_EVENT_LOG_MODULE in (text := cfg.read_text()):  # written before 2026-12-06
        cfg.write_text(text.replace(OLD_EVENT_LOG_MODULE, EVENT_LOG_MODULE))
    return DagsterInstance.from_config(str(home))


PID_TAG = "userops/pid"
HOST_TAG = "userops/host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_crashed_runs(instance: DagsterInstance) -> list[str]:
    """A CLI run whose process was killed stays STARTED and keeps its warehouse-pool slot,
    so the next run would wait for that slot forever. Runs of this host whose process is
    gone are marked failed and their slots freed; their half-written tables are rebuilt
    by the next run (incremental windows are deleted and rewritten, tables replaced)."""
    recovered = []
    active = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]
    for r in instance.get_runs(filters=RunsFilter(statuses=active)):
        pid = r.tags.get(PID_TAG)
        if pid is None or r.tags.get(HOST_TAG) != socket.gethostname() or _alive(int(pid)):
            continue
        instance.report_run_failed(r)
        instance.event_log_storage.free_concurrency_slots_for_run(r.run_id)
        log.warning("run %s died with its process %s: marked failed, pool slot freed",
                    r.run_id, pid)
        recovered.append(r.run_id)
    return recovered


def default_range(settings: Settings, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Every complete day present in the landing, from start_date on (when set)."""
    found = landing_time_range(settings.landing, file_rules(settings.config),
                               landing_mappings(settings.config))
    if found is None:
        raise RunError(f"{settings.landing}: no parseable event or order times; land files "
                       "under events/ or orders/ (README, Data contract) or pass --landing")
    tz = settings.config.timezone
    first, last = (t.tz_convert(tz).date() for t in found)
    today = today or dt.datetime.now(ZoneInfo(tz)).date()
    last = min(last, today - dt.timedelta(days=1))  # today is not complete yet
    start_date = settings.config.start_date
    if start_date is not None and first < start_date:
        log.warning("landing starts %s, before start_date %s: starting at start_date",
                    first, start_date)
        first = start_date
    if last < first:
        if start_date is not None and first == start_date:
            raise RunError(f"the landing's last complete day {last} is before start_date "
                           f"{start_date}: set an earlier start_date in the config, or "
                           "remove it to start at the landing's first day")
        raise RunError(f"the landing has no complete day yet (its last is {last}, today "
                       f"{today} in {tz}): land earlier days, or pass --start and --end")
    return first, last


def run_pipeline(
    settings: Settings,
    start: dt.date | None = None,
    end: dt.date | None = None,
    full_refresh: bool = False,
    log_level: str = "INFO",
    models_only: bool = False,
    progress: TextIO | None = None,
    tracebacks: bool = True,
    accept_definition_change: bool = False,
) -> RunOutcome:
    """Run the daily job over [start, end]. Without either: catch up, from the first day
    not published yet (or whose data changed since) through the landing's last complete
    day (orchestration/catch_up.py; every day on a first run). Only one given: the other
    from the landing's days.
    `models_only` runs the landing and the dbt models with their tests, and leaves out
    the scoring, the Great Expectations suites of the marts and the publish: what a
    check of the dbt tables alone needs (e.g. the late-events test). `progress`: a stream
    that shows each step as it starts (orchestration/progress.py). `tracebacks`: False
    leaves a failure's records to the RunError's message (the CLI without --verbose).
    `accept_definition_change`: keep the days built so far when a setting that shaped them
    changed (orchestration/definition.py); a full refresh rebuilds them instead."""
    catch_up = start is None and end is None
    if start is None or end is None:
        d_start, d_end = default_range(settings)
        start, end = (None, d_end) if catch_up else (start or d_start, end or d_end)
    start_date = settings.config.start_date
    if start is not None and start_date is not None and start < start_date:
        raise RunError(f"--start {start} is before start_date {start_date}: pass a later "
                       "--start, or set an earlier start_date in the config file")
    if start is not None and end < start:
        raise RunError(f"--end {end} is before --start {start}")
    with one_run_at_a_time(settings):
        if start is not None and not full_refresh:
            _warn_of_a_hole(settings, start)
        defs = build_definitions(settings)
        job = defs.resolve_job_def(DAILY_JOB)
        selection = None
        if models_only:
            selection = [key for a in defs.assets if getattr(a, "op", None) is not None
                         and a.op.name in (LANDING_OP, MODELS_OP) for key in a.keys]
        if catch_up:
            log.info("running %s, catching up through %s", DAILY_JOB, end)
        else:
            log.info("running %s over %s .. %s (%d days)", DAILY_JOB, start, end,
                     (end - start).days + 1)
        console = {"log_level": log_level, "tracebacks": tracebacks}
        run_config = {"loggers": {"console": {"config": console}, "progress": {}},
                      **window_run_config(start, end, full_refresh, catch_up,
                                          accept_definition_change)}
        steps = job.get_subset(asset_selection=set(selection)) if selection else job
        display = Progress(progress, len(steps.graph.nodes)) if progress is not None else None
        activate(display)
        with instance_for(settings) as instance, _closing(display):
            recover_crashed_runs(instance)
            result = job.execute_in_process(
                instance=instance,
                run_config=run_config,
                tags={
                    **window_tags(start, end),
                    PID_TAG: str(os.getpid()),
                    HOST_TAG: socket.gethostname(),
                },
                raise_on_error=False,
                asset_selection=selection,
            )
        prune_dbt_runs(settings)
        checks = [
            CheckOutcome(
                asset="/".join(e.asset_key.path),
                check=e.check_name,
                passed=e.passed,
                severity=e.severity.value,
                metadata={k: getattr(v, "value", v) for k, v in e.metadata.items()},
            )
            for e in result.get_asset_check_evaluations()
        ]
        if not result.success:
            failures = step_failures(result)
            # the held-back run's files for the publish: never published
            shutil.rmtree(pending_dir(settings, result.run_id), ignore_errors=True)
            raise HeldBack(failure_reasons(failures, checks), serving_state(settings),
                           held_back_report(settings, failures, checks))
        return RunOutcome(*(_built_window(settings) or (start, end)), checks)


@contextlib.contextmanager
def one_run_at_a_time(settings: Settings) -> Iterator[None]:
    """Hold the warehouse's state for the whole run (StateStore.held): a second run on the
    same state refuses with one line (RunError) before it lands or builds anything. Holds
    nest, so a caller may take it around its own preparation too (the CLI's run log)."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(warehouse_for(settings).store.held())
        except WarehouseBusy as busy:
            raise RunError(str(busy)) from None
        yield


def _built_window(settings: Settings) -> tuple[dt.date, dt.date] | None:
    """The days the run built (a catching-up run chose them itself); None when the run
    recorded none. Read while the run still holds the warehouse (one_run_at_a_time), so no
    other process can have taken it meanwhile."""
    try:
        return warehouse_for(settings).row(
            f"select window_start, window_end from {RUN_WINDOW_TABLE}")
    except duckdb.Error:
        return None


def _warn_of_a_hole(settings: Settings, start: dt.date) -> None:
    """An explicit window that starts after the day following the last published one
    leaves days without rows (the check no_missing_days then holds the publish back)."""
    warehouse = warehouse_for(settings)
    if not Path(warehouse.path).exists():
        return
    try:
        with warehouse.store.connect() as con:
            ledger = read_ledger(con)
    except duckdb.Error:  # another run holds the file: this one waits for it, unwarned
        return
    if not ledger:
        return
    last = max(published_days(ledger, min(p.window_start for p in ledger)), default=None)
    lower = start - dt.timedelta(days=settings.config.incremental.lookback_days)
    if last is not None and lower > last + dt.timedelta(days=1):
        gap = describe([(last + dt.timedelta(days=1), lower - dt.timedelta(days=1))])
        log.warning("this window leaves %s without rows (published through %s): the publish "
                    "will be held back; run without --start/--end to catch up", gap, last)


@contextlib.contextmanager
def _closing(display: Progress | None) -> Iterator[None]:
    try:
        yield
    finally:
        activate(None)
        if display is not None:
            display.close()


# Exception classes that only wrap the step's own error.
_WRAPPERS = ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError",
             "DagsterExecutionInterruptedError")
_CLASS_PREFIX = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Failure): ")


def one_line(text: str) -> str:
    """A message on one line: its lines joined with '; ', runs of spaces collapsed."""
    parts = [" ".join(line.split()) for line in text.strip().splitlines()]
    return "; ".join(p for p in parts if p)


def step_error_message(error) -> str:
    """The failed step's own message (a SerializableErrorInfo chain): the innermost error
    that is not an orchestration wrapper, without its class name."""
    while error.cause is not None and error.cls_name in _WRAPPERS:
        error = error.cause
    return one_line(_CLASS_PREFIX.sub("", error.message.strip()))


# a step that failed because its own blocking checks did: the checks say why
_BLOCKED = re.compile(r"^\d+ blocking asset checks? failed")


def step_failures(result) -> list[tuple[str, str]]:
    """(step, its error on one line) per failed step, the ones only reporting their
    blocking checks left out."""
    failures = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            data = event.step_failure_data
            desc = data.user_failure_data.description if data.user_failure_data else None
            text = one_line(desc) if desc else step_error_message(data.error)
            if not _BLOCKED.match(text):
                failures.append((event.step_key, text))
    return failures


def failure_reasons(failures: list[tuple[str, str]], checks: list[CheckOutcome]) -> list[str]:
    """One line per failed step and per failed blocking (ERROR) check, with what it saw."""
    reasons = [f"step {step}: {text}" for step, text in failures]
    for c in checks:
        if not c.passed and c.severity == "ERROR":
            detail = c.metadata.get("message") or c.metadata.get("first_failure") or ""
            reasons.append(f"check {c.asset} {c.check}" + (f": {detail}" if detail else ""))
    return reasons


def _published_at(settings: Settings) -> str | None:
    """When the serving file BI reads was published (UTC), or None."""
    path = settings.serving / SERVING_FILE
    if not path.exists():
        return None
    return f"{dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC):%Y-%m-%d %H:%M} UTC"


def serving_state(settings: Settings) -> str:
    """What BI reads now: the serving file's publish, or nothing."""
    when = _published_at(settings)
    if when is None:
        return "nothing published yet"
    return f"{settings.serving / SERVING_FILE} still holds the run published {when}"


def held_back_report(settings: Settings, failures: list[tuple[str, str]],
                     checks: list[CheckOutcome]) -> Path | None:
    """The report of a run that published nothing, beside the serving file, marked held
    back: the failed steps and checks first, then the warehouse's tables as the run left
    them. None when there are no tables to show (a first run that failed early), or when
    the warehouse cannot be read."""
    warehouse = warehouse_for(settings)
    try:
        tables = set(warehouse.relations("marts"))
    except Exception:  # noqa: BLE001 - a report is never worth hiding the run's own error
        log.warning("no held-back report: the warehouse could not be read", exc_info=True)
        return None
    if not tables:
        return None
    rows = [{"asset": step, "check": "step failed", "passed": False, "severity": "ERROR",
             "metadata": {"message": text}} for step, text in failures]
    rows += [{"asset": c.asset, "check": c.check, "passed": c.passed, "severity": c.severity,
              "metadata": {k: v for k, v in c.metadata.items()
                           if isinstance(v, int | float | str | bool)}} for c in checks]
    cfg = settings.config
    page = build_html(warehouse.query, tables, rows, cfg.report.language, cfg.timezone,
                      held_back=_published_at(settings) or "")
    settings.serving.mkdir(parents=True, exist_ok=True)
    return write_page(page, settings.serving)


def dagster_ui_hint(settings: Settings, config_path: Path | None) -> str:
    env = [
        f"DAGSTER_HOME={settings.dagster_home}",
        f"USEROPS_LANDING={settings.landing}",
        f"USEROPS_WAREHOUSE={settings.warehouse}",
    ]
    if config_path:
        env.append(f"USEROPS_CONFIG={Path(config_path).absolute()}")
    return " ".join(env) + " uv run dagster dev  (then open http://127.0.0.1:3000)"
