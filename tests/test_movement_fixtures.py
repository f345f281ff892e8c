"""Hand-built users pinning the four sources of active users, the silent stock and the
tier movements (fct_active_user_sources, fct_tier_movements), built in two runs so the
second run's window reads back across its boundary. Defaults: churn after 30 idle days;
tiers high >= 12, mid 4-11, low 1-3 engaged visits in 28 days."""

import pandas as pd
import pytest

from tests.conftest import make_settings, read_table, run
from tests.test_engagement_fixtures import _visit
from tests.test_lifecycle_fixtures import day

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    rows: list = []
    for n in range(15):  # climber: an engaged visit a day, days 0-14, then silent for good
        _visit(rows, "climber", day(n))
    for n in range(50, 56):  # steady: days 50-55
        _visit(rows, "steady", day(n))
    for n in (50, 52, 82, 113):  # gaps of 2, 30 (still silent) and 31 days (churned)
        _visit(rows, "gap", day(n))
    root = tmp_path_factory.mktemp("movement_fixture")
    (root / "landing" / "events").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "landing" / "events" / "events.csv", index=False)
    settings = make_settings(root, root / "landing")
    run(settings, day(0), day(70), models_only=True)
    run(settings, day(71), day(115), models_only=True)  # reads back 31 days before its window
    sources = read_table(settings.warehouse, "marts.fct_active_user_sources", "activity_date")
    sources["activity_date"] = pd.to_datetime(sources["activity_date"]).dt.date
    moves = read_table(settings.warehouse, "marts.fct_tier_movements", "activity_date")
    moves["activity_date"] = pd.to_datetime(moves["activity_date"]).dt.date
    return sources.set_index("activity_date"), moves


COLUMNS = ["active_users", "new_active_users", "kept_active_users", "woken_silent_users",
           "returned_churned_users", "silent_users"]


def on(sources, n: int) -> list[int]:
    return [int(v) for v in sources.loc[day(n), COLUMNS]]


def test_each_source_of_active_users(tables):
    sources, _ = tables
    #                      active new kept woken returned silent
    assert on(sources, 0) == [1, 1, 0, 0, 0, 0]
    assert on(sources, 1) == [1, 0, 1, 0, 0, 0]
    assert on(sources, 50) == [2, 2, 0, 0, 0, 0]
    assert on(sources, 51) == [1, 0, 1, 0, 0, 1]  # gap idle one day: silent
    assert on(sources, 52) == [2, 0, 1, 1, 0, 0]  # gap back after 2 days: woken
    assert on(sources, 82) == [1, 0, 0, 1, 0, 1]  # after 30 days: still woken, not churned
    assert on(sources, 113) == [1, 0, 0, 0, 1, 0]  # after 31 days: returned from churn


def test_the_silent_stock_ends_at_the_churn_standard(tables):
    sources, _ = tables
    assert on(sources, 15)[-1] == 1 and on(sources, 43)[-1] == 1  # climber idle 1 .. 29
    assert on(sources, 44)[-1] == 0  # idle 30: churned, no longer silent
    assert on(sources, 56)[-1] == 2  # steady idle 1, gap idle 4
    assert on(sources, 84)[-1] == 2  # steady idle 29, gap idle 2 (back on day 82)
    assert on(sources, 85)[-1] == 1  # steady idle 30: churned; gap idle 3
    assert on(sources, 112)[-1] == 0  # gap idle 30
    # every day of the two runs has a row, and the sources sum to the active users
    assert list(sources.index) == [day(n) for n in range(116)]


def test_tier_movements_up_and_down(tables):
    _, moves = tables
    climber = moves[moves["activity_date"] < day(50)]
    changes = {(r.activity_date, r.from_tier, r.to_tier, r.direction, r.users)
               for r in climber.itertuples() if r.direction != "same"}
    assert changes == {
        (day(0), "none", "low", "up", 1),    # index 1
        (day(3), "low", "mid", "up", 1),     # index 4
        (day(11), "mid", "high", "up", 1),   # index 12
        (day(31), "high", "mid", "down", 1),  # day 0-3 out of the window: 11
        (day(39), "mid", "low", "down", 1),  # 3
        (day(42), "low", "none", "down", 1),  # nothing left in the window: no row
    }
    stays = climber[climber["direction"] == "same"]
    assert set(stays["from_tier"]) == {"low", "mid", "high"}
    assert (stays["users"] == 1).all()
    # one row per day while the climber has a tier, none after
    assert sorted(climber["activity_date"]) == [day(n) for n in range(43)]
