"""A late identify, end to end: a visitor's earlier days are stitched to the user as far
back as the run rebuilds (its window and lookback); older days follow at a full refresh,
while the visitor tables, rebuilt whole, re-attribute at once (docs/METRICS.md, "Events,
ids and visitors")."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_settings, overall, read_table, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

D = [dt.date(2025, 1, d) for d in range(1, 7)]
COLUMNS = ["event_id", "user_id", "anonymous_id", "event_name", "event_time"]


def _write(landing: Path, name: str, rows: list[tuple]) -> None:
    (landing / "events").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(landing / "events" / name, index=False)


def _engaged(prefix: str, user: str | None, anon: str | None, day: int) -> list[tuple]:
    """An engaged visit: two searches a minute apart."""
    return [(f"{prefix}-{i}", user, anon, "search", f"2025-01-0{day}T10:0{i}:00Z")
            for i in range(2)]


def _dau(settings, day: dt.date) -> int:
    t = overall(settings.warehouse)
    return int(t.loc[pd.to_datetime(t["activity_date"]).dt.date == day, "dau"].iloc[0])


def _visitors(settings, day: dt.date) -> tuple[int, int, int]:
    t = read_table(settings.warehouse, "marts.fct_visitors_daily", "activity_date",
                   f"activity_date = '{day}'")
    return tuple(int(t[c].iloc[0]) for c in ("visitors", "identified_visitors",
                                             "anonymous_visitors"))


def test_a_late_identify_stitches_the_days_the_run_rebuilds(tmp_path):
    landing = tmp_path / "landing"
    # day 1: x (a user) and two visitors, a1 and a2, each with an engaged visit
    _write(landing, "day1.csv", _engaged("x1", "x", None, 1) + _engaged("a1", None, "a1", 1)
           + _engaged("a2", None, "a2", 1))
    _write(landing, "day2.csv", _engaged("x2", "x", None, 2))
    settings = make_settings(tmp_path / "wh", landing, activity={"key_events": ["search"]})
    run(settings, D[0], D[1], models_only=True)
    assert _dau(settings, D[0]) == 1
    assert _visitors(settings, D[0]) == (3, 1, 2)

    # day 3: a1 identifies as u1; the run's lookback (2 days) reaches day 1
    _write(landing, "day3.csv", [("id-1", "u1", "a1", "identify", "2025-01-03T12:00:00Z")])
    run(settings, D[2], D[2], models_only=True)
    assert _dau(settings, D[0]) == 2  # x and u1, whose visit of day 1 is now theirs
    assert _visitors(settings, D[0]) == (3, 2, 1)
    signups = read_table(settings.warehouse, "marts.fct_visitors_daily", "activity_date",
                         f"activity_date = '{D[2]}'")
    # no users row: u1 signed up on the day an event first carried its id, 2 days after
    # its first visit
    assert signups[["signups", "signups_after_visit", "median_days_to_signup"]].values.tolist(
    ) == [[1, 1, 2.0]]

    # day 6: a2 identifies as u2; the run rebuilds days 2-6 only
    _write(landing, "day6.csv", [("id-2", "u2", "a2", "identify", "2025-01-06T12:00:00Z")])
    run(settings, D[3], D[5], models_only=True)
    assert _dau(settings, D[0]) == 2  # day 1 was built before: unchanged until a refresh
    assert _visitors(settings, D[0]) == (3, 3, 0)  # rebuilt whole: re-attributed at once
    ids = read_table(settings.warehouse, "marts.dim_identities", "anonymous_id")
    assert ids[["anonymous_id", "user_id", "link_source", "linked_users"]].values.tolist() == [
        ["a1", "u1", "event", 1], ["a2", "u2", "event", 1]]

    run(settings, D[0], D[5], full_refresh=True, models_only=True)
    assert _dau(settings, D[0]) == 3
