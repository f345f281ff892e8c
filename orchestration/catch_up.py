"""Which days a run builds when it is not told: catch up, and never leave a hole.

Every publish records its window in the ledger `pipeline.published_windows` (in the
landing's DuckDB file, beside the landing's own record of what it landed and when,
`landing.landed_ranges`). A run without --start/--end, and every scheduled run, builds
from the first reporting day that is not published yet, or whose landed data arrived
after the day was last published, to the last complete day: a day held back by a
blocking check, or missed while the pipeline was down, is built by the next run. The
functions after `catch_up_for` are pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb

from orchestration.config import UseropsConfig

LEDGER = "pipeline.published_windows"


@dataclass(frozen=True)
class Published:
    window_start: dt.date
    window_end: dt.date
    full_build: bool  # every day up to window_end was built, later ones dropped
    published_at: dt.datetime


@dataclass(frozen=True)
class Landed:
    first_day: dt.date  # reporting days of the activity one sync landed
    last_day: dt.date
    loaded_at: dt.datetime


@dataclass(frozen=True)
class CatchUp:
    start: dt.date
    end: dt.date
    reason: str  # why the window starts where it does, for the log
    remaining: tuple[dt.date, dt.date] | None = None  # left for later by max_catch_up_days


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists pipeline")
    con.execute(f"""create table if not exists {LEDGER} (
        run_id varchar, window_start date, window_end date, full_build boolean,
        published_at timestamptz)""")


def record_publish(con: duckdb.DuckDBPyConnection, run_id: str, start: dt.date, end: dt.date,
                   full_build: bool) -> None:
    ensure_ledger(con)
    con.execute(f"insert into {LEDGER} values (?, ?, ?, ?, now())",
                [run_id, start, end, full_build])


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where "
                            "table_schema = ? and table_name = ?", [schema, name]).fetchone()[0])


def read_ledger(con: duckdb.DuckDBPyConnection) -> list[Published]:
    """The published windows, oldest first (none before the first publish)."""
    if not _has_table(con, "pipeline", "published_windows"):
        return []
    rows = con.execute(f"select window_start, window_end, full_build, published_at "
                       f"from {LEDGER} order by published_at").fetchall()
    return [Published(*row) for row in rows]


def read_landed(con: duckdb.DuckDBPyConnection, timezone: str) -> list[Landed]:
    """What each sync landed, as reporting days (empty before the landing's first run)."""
    if not _has_table(con, "landing", "landed_ranges"):
        return []
    tz = ZoneInfo(timezone)
    rows = con.execute("select first_time, last_time, loaded_at from landing.landed_ranges "
                       "order by loaded_at").fetchall()
    return [Landed(lo.astimezone(tz).date(), hi.astimezone(tz).date(), at)
            for lo, hi, at in rows]


def catch_up_for(con: duckdb.DuckDBPyConnection, config: UseropsConfig,
                 end: dt.date) -> CatchUp:
    """The catch-up window through `end`, from the landing's file (after this run's
    landing: what it landed counts)."""
    ledger, landed = read_ledger(con), read_landed(con, config.timezone)
    first = first_reporting_day(ledger, landed, config.start_date) or end
    return catch_up_window(min(first, end), end, ledger, landed,
                           config.schedule.max_catch_up_days)


def first_reporting_day(ledger: list[Published], landed: list[Landed],
                        start_date: dt.date | None) -> dt.date | None:
    """The landing's first day (what any sync landed, or any window published), from
    start_date on."""
    found = [r.first_day for r in landed] + [p.window_start for p in ledger]
    if not found:
        return start_date
    return max(min(found), start_date) if start_date else min(found)


def published_days(ledger: list[Published], first_day: dt.date) -> dict[dt.date, dt.datetime]:
    """Each published day from `first_day` on, with the time it was last published. A
    full build publishes every day up to its end and drops the later ones."""
    days: dict[dt.date, dt.datetime] = {}
    for p in ledger:
        lo = first_day if p.full_build else max(p.window_start, first_day)
        if p.full_build:
            days = {d: t for d, t in days.items() if d <= p.window_end}
        for d in _days(lo, p.window_end):
            days[d] = p.published_at
    return days


def catch_up_window(first_day: dt.date, end: dt.date, ledger: list[Published],
                    landed: list[Landed], max_days: int) -> CatchUp:
    """The window of a run that catches up, through `end` (the last complete day)."""
    if not ledger:
        return CatchUp(first_day, end, "first build: every day of the landing")
    done = published_days(ledger, first_day)
    unbuilt = next((d for d in _days(first_day, end) if d not in done), None)
    changed = min((d for r in landed
                   for d in _days(max(r.first_day, first_day), min(r.last_day, end))
                   if d in done and done[d] < r.loaded_at), default=None)
    starts = [(d, why) for d, why in ((unbuilt, "the first day not published yet"),
                                      (changed, "data landed after it was published"))
              if d is not None]
    if not starts:
        return CatchUp(end, end, "every day is published: the last day again")
    start, reason = min(starts)
    if (end - start).days + 1 <= max_days:
        return CatchUp(start, end, reason)
    cut = start + dt.timedelta(days=max_days - 1)
    return CatchUp(start, cut, reason, (cut + dt.timedelta(days=1), end))


def missing_ranges(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """The runs of days missing between the first and the last of `days`."""
    have = sorted(set(days))
    gaps = []
    for a, b in zip(have, have[1:], strict=False):
        if (b - a).days > 1:
            gaps.append((a + dt.timedelta(days=1), b - dt.timedelta(days=1)))
    return gaps


def describe(ranges: list[tuple[dt.date, dt.date]]) -> str:
    """2025-01-31 .. 2025-02-02 (3 days), ... as one phrase."""
    return ", ".join(f"{a}" if a == b else f"{a} .. {b} ({(b - a).days + 1} days)"
                     for a, b in ranges)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
