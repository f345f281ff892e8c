"""Segments on generated data against the pandas reference: membership as of the snapshot
day, and the trend tables of the members' history (active users, weekly retention,
lifecycle stages, funnels) over the trend window."""

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import SMALL, SMALL_FUNNEL, SMALL_SEGMENT, read_table
from tests.reference import active_user_days, funnel_counts, period_of, retention

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

LAST = SMALL.start + dt.timedelta(days=SMALL.days - 1)
WEEKS = 8  # breakdowns.segment_weeks, its default
FIRST = period_of(LAST, "week") - dt.timedelta(weeks=WEEKS - 1)
SEGMENT = "ios_searchers"


@pytest.fixture(scope="module")
def active(small_data) -> pd.DataFrame:
    return active_user_days(small_data.events)


@pytest.fixture(scope="module")
def members(small_run, small_data) -> set[str]:
    """The members by the segment's rule, from the events: first day's platform (the
    first by name) one of the segment's, at least n of each event over the `days` ending
    on the snapshot day."""
    ev = small_data.events
    day = pd.to_datetime(ev["event_time"], utc=True).dt.date
    first = ev[day == day.groupby(ev["user_id"]).transform("min")]
    first_platform = first.groupby("user_id")["platform"].min()
    rule = set(first_platform[first_platform.isin(SMALL_SEGMENT["platform"])].index)
    recent = ev[(day > LAST - dt.timedelta(days=SMALL_SEGMENT["days"])) & (day <= LAST)]
    for event, n in SMALL_SEGMENT["min_events"].items():
        counts = recent[recent["event_name"] == event].groupby("user_id").size()
        rule &= set(counts[counts >= n].index)
    got = read_table(small_run.warehouse, "marts.dim_user_segments", "user_id",
                     f"segment = '{SEGMENT}'")
    assert set(got["user_id"]) == rule
    assert len(rule) >= 10, "too few members for the comparisons below to mean anything"
    return rule


def _segment(table: pd.DataFrame, *dates: str) -> pd.DataFrame:
    table = table[table["segment"] == SEGMENT].copy()
    for column in dates:
        table[column] = pd.to_datetime(table[column]).dt.date
    return table


def test_active_members_per_day_match_reference(small_run, active, members):
    got = _segment(read_table(small_run.warehouse, "marts.fct_segment_active_users_daily",
                              "activity_date"), "activity_date")
    mine = active[active["user_id"].isin(members)]
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    assert got["activity_date"].tolist() == days
    first_active = mine.groupby("user_id")["activity_date"].min()
    for row in got.itertuples():
        d = row.activity_date
        week = mine[(mine["activity_date"] <= d)
                    & (mine["activity_date"] > d - dt.timedelta(days=7))]
        assert row.members == len(members)
        assert row.dau == int((mine["activity_date"] == d).sum()), d
        assert row.wau == week["user_id"].nunique(), d
        assert row.new_users == int((first_active == d).sum()), d
    assert got["dau"].sum() > 0


def test_members_weekly_retention_matches_reference(small_run, small_data, active, members):
    signup = small_data.users.set_index("user_id")["signup_time"].dt.date
    cohorts = pd.DataFrame({"user_id": sorted(members)})
    cohorts["cohort_date"] = cohorts["user_id"].map(signup)
    cohorts = cohorts[(cohorts["cohort_date"] >= FIRST) & (cohorts["cohort_date"] <= LAST)]
    ref = retention(cohorts, active, LAST, "week")
    got = _segment(read_table(small_run.warehouse, "marts.fct_segment_retention_weekly",
                              "cohort_week, week_number"), "cohort_week")
    assert len(ref) > 0 and len(got) == len(ref)
    assert got["cohort_week"].tolist() == ref["cohort_period"].tolist()
    assert got["week_number"].tolist() == ref["period_number"].tolist()
    assert got["cohort_size"].tolist() == ref["cohort_size"].tolist()
    assert [None if pd.isna(v) else int(v) for v in got["retained_on"]] == [
        None if pd.isna(v) else int(v) for v in ref["retained_on"]]


def test_members_lifecycle_stages_count_the_daily_stages(small_run, members):
    """Counted from the spans; the daily series (checked against the reference in
    tests/test_unit_fixtures.py) must give the same per day and stage."""
    daily = read_table(small_run.warehouse, "marts.fct_user_lifecycle_daily", "activity_date")
    daily["activity_date"] = pd.to_datetime(daily["activity_date"]).dt.date
    daily = daily[daily["user_id"].isin(members) & (daily["activity_date"] >= FIRST)]
    ref = daily.groupby(["activity_date", "lifecycle_stage"]).size()
    got = _segment(read_table(small_run.warehouse, "marts.fct_segment_lifecycle_stage_counts",
                              "activity_date, lifecycle_stage"), "activity_date")
    assert got.set_index(["activity_date", "lifecycle_stage"])["users"].to_dict() == \
        ref.to_dict()


def test_members_funnel_per_week_matches_reference(small_run, small_data, members):
    ref = funnel_counts(small_data.events, SMALL_FUNNEL["steps"],
                        dt.timedelta(hours=SMALL_FUNNEL["within_hours"]), "week", members)
    ref = {key: n for key, n in ref.items() if key[0] >= FIRST}
    got = _segment(read_table(small_run.warehouse, "marts.fct_segment_funnel_weekly",
                              "week_start, step_number", "funnel = 'discovery'"), "week_start")
    rows = {(r.week_start, int(r.step_number)): int(r.users) for r in got.itertuples() if r.users}
    assert rows == ref and ref
