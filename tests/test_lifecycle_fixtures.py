"""Hand-built users pinning each lifecycle rule and its precedence."""

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import make_settings, read_table, run
from tests.test_engagement_fixtures import _visit

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

D0 = dt.date(2025, 1, 1)


def day(n: int) -> dt.date:
    """Day n of the fixture, day 0 = 1 Jan 2025."""
    return D0 + dt.timedelta(days=n)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    rows: list = []
    for n in range(20):  # daily, days 0-19, then silent
        _visit(rows, "daily", day(n))
    for n in (0, 1, 2):  # three days, then silent
        _visit(rows, "brief", day(n))
    _visit(rows, "comeback", day(0))
    _visit(rows, "comeback", day(35))  # 35 days later
    for n in range(0, 40):  # daily for 40 days, then once a week
        _visit(rows, "fading", day(n))
    for n in (45, 50, 55):
        _visit(rows, "fading", day(n))
    _visit(rows, "gappy", day(0))
    _visit(rows, "gappy", day(2))  # a gap of exactly one day
    root = tmp_path_factory.mktemp("lifecycle_fixture")
    (root / "landing" / "events").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "landing" / "events" / "events.csv", index=False)
    settings = make_settings(root, root / "landing")
    run(settings, day(0), day(60), models_only=True)  # reads dbt tables only
    return settings.warehouse


@pytest.fixture(scope="module")
def stages(warehouse) -> dict:
    table = read_table(warehouse, "marts.fct_user_lifecycle_daily", "user_id, activity_date")
    table["activity_date"] = pd.to_datetime(table["activity_date"]).dt.date
    return {(r.user_id, r.activity_date): (r.lifecycle_stage, r.previous_stage)
            for r in table.itertuples()}  # fmt: skip


def stage(stages, user, n):
    return stages[(user, day(n))][0]


def test_new_for_the_first_seven_days(stages):
    assert [stage(stages, "daily", n) for n in range(7)] == ["new"] * 7
    assert pd.isna(stages[("daily", day(0))][1])  # no previous stage on the first day


def test_mature_from_tier_high_then_declining_after_a_week_idle(stages):
    assert stage(stages, "daily", 10) == "growing"  # index 11 on day 10
    assert stage(stages, "daily", 11) == "mature"  # index 12 on day 11
    assert stage(stages, "daily", 25) == "mature"  # idle since day 19, 6 days
    # idle 7 days: declining wins over mature (index still >= 12)
    assert stage(stages, "daily", 26) == "declining"


def test_churned_after_thirty_idle_days(stages):
    assert stage(stages, "brief", 31) == "declining"  # last active day 2: 29 days
    assert stage(stages, "brief", 32) == "churned"  # 30 days
    assert stage(stages, "brief", 60) == "churned"


def test_reactivated_for_one_day_then_the_rules_again(stages):
    assert stage(stages, "comeback", 30) == "churned"
    assert stages[("comeback", day(35))] == ("reactivated", "churned")
    assert stage(stages, "comeback", 36) == "growing"  # cur 1 vs prev 0
    assert stage(stages, "comeback", 42) == "declining"  # idle 7 days


def test_declining_when_engagement_halves(stages):
    # day 45: active today, cur = days 18-45 -> 23 visits, prev = days -10..17 -> 18: not halved
    assert stage(stages, "fading", 45) == "mature"
    # day 57: cur = days 30-57 -> 10 + 3 = 13, prev = days 2-29 -> 28; 13 < 0.5 x 28
    assert stage(stages, "fading", 57) == "declining"


def test_one_row_per_user_and_day_from_first_activity(stages):
    for user in ("daily", "brief", "comeback", "fading"):
        assert sorted(d for (u, d) in stages if u == user) == [day(n) for n in range(61)]


# Growth accounting and retention on the same hand-built users (day 0 = Wed 1 Jan).
GA_COLS = ["active_users", "new_users", "retained_users", "resurrected_users", "churned_users"]


def _growth(warehouse, grain: str) -> dict:
    ga = read_table(warehouse, "marts.fct_growth_accounting", "period_start", f"grain = '{grain}'")
    ga["period_start"] = pd.to_datetime(ga["period_start"]).dt.date
    return {r.period_start: [getattr(r, c) for c in GA_COLS] for r in ga.itertuples()}


def test_growth_accounting_rules_by_hand(warehouse):
    daily = _growth(warehouse, "day")
    #                active new retained resurrected churned
    assert daily[day(0)] == [5, 5, 0, 0, 0]
    assert daily[day(1)] == [3, 0, 3, 0, 2]  # comeback and gappy churn the day after
    assert daily[day(2)] == [4, 0, 3, 1, 0]  # a gap of one period: gappy resurrects
    assert daily[day(3)] == [2, 0, 2, 0, 2]  # brief and gappy churn the day after their last
    monthly = _growth(warehouse, "month")
    assert monthly[day(0)] == [5, 5, 0, 0, 0]  # January
    assert monthly[dt.date(2025, 2, 1)] == [2, 0, 2, 0, 3]  # comeback, fading stay
    assert monthly[dt.date(2025, 3, 1)] == [0, 0, 0, 0, 2]
    ga = read_table(warehouse, "marts.fct_growth_accounting", "period_start", "grain = 'month'")
    assert ga["is_complete"].tolist() == [True, True, False]  # 2 March is not a month


def test_retention_on_and_on_or_after_by_hand(warehouse):
    r = read_table(
        warehouse, "marts.fct_retention_cohorts", "cohort_period, period_number",
        "breakdown = 'all' and cohort_grain in ('week', 'month')",
    )  # fmt: skip
    cell = r.set_index(["cohort_grain", "period_number"])
    # week 3 (from Mon 20 Jan): daily (last day Mon 20 Jan) and fading are on; comeback
    # (5 Feb) is only "on or after"
    week3 = cell.loc[("week", 3), ["cohort_size", "retained_on", "retained_on_or_after"]]
    assert week3.tolist() == [5, 2, 3]
    assert cell.loc[("month", 1), ["retained_on", "retained_on_or_after"]].tolist() == [2, 2]
    # March has not elapsed on 2 March: null, not 0
    march = cell.loc[("month", 2)]
    assert not march["is_observable"] and pd.isna(march["retained_on"])
    assert pd.isna(march["retention_rate_on_or_after"])
