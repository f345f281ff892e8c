"""Hand-built users pinning the engagement definitions of docs/METRICS.md."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_settings, read_table, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

JAN = [dt.date(2025, 1, d) for d in range(1, 32)]
FEB1 = dt.date(2025, 2, 1)


def _visit(
    rows: list,
    user: str,
    day: dt.date,
    hour: int = 10,
    key_events: int = 1,
    platform: str = "web",
    bounced: bool = False,
) -> None:
    """One visit: an opener and `key_events` key events 30 s apart (a bounce: one event)."""
    start = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=hour)
    names = ["search"] if bounced else ["page_view"] + ["add_to_cart"] * key_events
    for i, name in enumerate(names):
        rows.append({"event_id": f"{user}-{day}-{hour}-{i}", "user_id": user, "event_name": name,
                     "event_time": (start + pd.Timedelta(seconds=30 * i)).isoformat(),
                     "platform": platform})  # fmt: skip


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory) -> Path:
    rows: list = []
    _visit(rows, "once", JAN[0], platform="tv")  # Wed 1 Jan, the only active day
    _visit(rows, "once", JAN[28], platform="tv", bounced=True)  # seen on 29 Jan, not active
    for n in (12, 11, 4, 3, 1):  # n engaged visits, one a day from 10 Jan
        for k in range(n):
            _visit(rows, f"t{n}", JAN[9 + k])
    _visit(rows, "chatty", JAN[19], key_events=20)  # one visit, twenty key events
    _visit(rows, "double", JAN[19], hour=9)
    _visit(rows, "double", JAN[19], hour=15)  # two visits on one day
    _visit(rows, "bouncer", JAN[19], bounced=True)
    root = tmp_path_factory.mktemp("engagement_fixture")
    (root / "landing" / "events").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "landing" / "events" / "events.csv", index=False)
    settings = make_settings(root, root / "landing")
    run(settings, JAN[0], FEB1, models_only=True)  # reads dbt tables only
    return settings.warehouse


def test_tiers_are_inclusive_and_count_visits_not_events(fixture_run):
    dim = read_table(fixture_run, "marts.dim_user_engagement", "user_id").set_index("user_id")
    assert dim.loc[FEB1.isoformat() :, "snapshot_date"].empty or True
    got = dim[["engagement_index", "activity_tier"]].to_dict("index")
    assert got == {
        "t12": {"engagement_index": 12, "activity_tier": "high"},
        "t11": {"engagement_index": 11, "activity_tier": "mid"},
        "t4": {"engagement_index": 4, "activity_tier": "mid"},
        "t3": {"engagement_index": 3, "activity_tier": "low"},
        "t1": {"engagement_index": 1, "activity_tier": "low"},
        "chatty": {"engagement_index": 1, "activity_tier": "low"},
        "double": {"engagement_index": 2, "activity_tier": "low"},
        "bouncer": {"engagement_index": 0, "activity_tier": "none"},
        "once": {"engagement_index": 0, "activity_tier": "none"},
    }
    assert (pd.to_datetime(dim["snapshot_date"]).dt.date == FEB1).all()


def test_index_grows_day_by_day_to_the_tier_boundary(fixture_run):
    daily = read_table(fixture_run, "marts.fct_user_engagement_daily", "activity_date")
    t12 = daily[daily["user_id"] == "t12"]
    t12 = t12.set_index(pd.to_datetime(t12["activity_date"]).dt.date)
    assert t12.loc[JAN[19], ["engagement_index", "activity_tier"]].tolist() == [11, "mid"]
    assert t12.loc[JAN[20], ["engagement_index", "activity_tier"]].tolist() == [12, "high"]


def test_rolling_and_calendar_windows_end_on_the_day(fixture_run):
    fact = read_table(fixture_run, "marts.fct_active_users_daily", "activity_date")
    tv = fact[fact["breakdown_value"] == "tv"]
    tv = tv.set_index(pd.to_datetime(tv["activity_date"]).dt.date)

    def col(name: str, day: dt.date) -> int:
        return int(tv.loc[day, name])

    assert col("dau", JAN[0]) == 1 and col("dau", JAN[1]) == 0
    assert col("wau", JAN[6]) == 1 and col("wau", JAN[7]) == 0  # 7 days: 1..7 Jan
    assert col("mau", JAN[27]) == 1 and col("mau", JAN[28]) == 0  # 28 days: 1..28 Jan
    # week to date: Wed 1 Jan counts through Sun 5 Jan, not from Mon 6 Jan
    assert col("calendar_week_actives", JAN[4]) == 1 and col("calendar_week_actives", JAN[5]) == 0
    assert col("calendar_month_actives", JAN[30]) == 1 and col("calendar_month_actives", FEB1) == 0
    assert col("new_users", JAN[0]) == 1
    assert col("bounced_only_users", JAN[28]) == 1
