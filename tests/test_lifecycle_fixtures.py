"""Hand-built users pinning each lifecycle rule and its precedence."""

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import make_settings, read_table, run
from tests.test_engagement_fixtures import _visit

D0 = dt.date(2025, 1, 1)


def day(n: int) -> dt.date:
    """Day n of the fixture, day 0 = 1 Jan 2025."""
    return D0 + dt.timedelta(days=n)


@pytest.fixture(scope="module")
def stages(tmp_path_factory) -> dict:
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
    root = tmp_path_factory.mktemp("lifecycle_fixture")
    (root / "landing" / "events").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "landing" / "events" / "events.csv", index=False)
    settings = make_settings(root, root / "landing")
    run(settings, day(0), day(60))
    table = read_table(
        settings.warehouse, "marts.fct_user_lifecycle_daily", "user_id, activity_date"
    )
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
