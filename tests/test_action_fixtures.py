"""Hand-built users pinning each churn warning signal at its threshold (fires / does not
fire: fct_churn_warnings) and the order of the worklist (user_actions). One full run over
days 0-60; snapshot day 60. Windows (defaults): cur = days 33-60, prev = days 5-32; tier
compared with day 53; every fixture user is declining (idle >= 7 days), so in scope
whatever the churn model says. A visit = an opener plus key events, `gap_s` apart."""

import datetime as dt

import pandas as pd
import pytest

from tests.conftest import make_settings, read_table, run
from tests.test_lifecycle_fixtures import day

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

SIGNALS = ["engagement_dropped", "idle_longer_than_usual", "tier_dropped",
           "key_event_stopped", "visits_shorter", "purchase_overdue"]


def visit(rows: list, user: str, n: int, hour: int = 10, key: str = "add_to_cart",
          key_events: int = 1, gap_s: int = 30) -> None:
    start = pd.Timestamp(day(n), tz="UTC") + pd.Timedelta(hours=hour)
    for i, name in enumerate(["page_view"] + [key] * key_events):
        rows.append({"event_id": f"{user}-{n}-{hour}-{i}", "user_id": user, "event_name": name,
                     "event_time": (start + pd.Timedelta(seconds=gap_s * i)).isoformat(),
                     "platform": "web"})


def visits(rows: list, user: str, days: dict[int, int], **kw) -> None:
    """{day: number of visits that day}"""
    for n, k in days.items():
        for h in range(k):
            visit(rows, user, n, hour=8 + 2 * h, **kw)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    ev: list = []
    orders: list = []
    # engagement_dropped: prev 10 visits, cur 4 (< 0.5 x 10) / 5 (not < 5); gaps of 6 days
    visits(ev, "drop", {8: 2, 14: 2, 20: 2, 26: 2, 32: 2, 38: 2, 44: 1, 50: 1})
    visits(ev, "drop_edge", {8: 2, 14: 2, 20: 2, 26: 2, 32: 2, 38: 2, 44: 2, 50: 1})
    # idle 10 days: usual gap 2 (10 > 2 x 2) / usual gap 5 (10 is not > 2 x 5)
    visits(ev, "idler", dict.fromkeys(range(40, 51, 2), 1))
    visits(ev, "idler_edge", dict.fromkeys(range(30, 51, 5), 1))
    # tier_dropped: high on day 53 (16 visits over days 26-53), mid on day 60 (4)
    visits(ev, "faller", {**dict.fromkeys(range(27, 33), 2), 40: 2, 41: 2})
    # key_event_stopped: add_to_cart 3 times in prev, never in cur / only 2 times in prev
    visits(ev, "quitter", dict.fromkeys((20, 24, 28), 1))
    visits(ev, "quitter", dict.fromkeys((36, 40, 44, 48, 52), 1), key="consult")
    visits(ev, "quitter_edge", dict.fromkeys((24, 28), 1))
    visits(ev, "quitter_edge", dict.fromkeys((36, 40, 44, 48, 52), 1), key="consult")
    # visits_shorter: 10-minute visits in prev; 4 minutes (< 5) / 5 minutes in cur
    visits(ev, "shortener", dict.fromkeys((8, 12, 16), 1), gap_s=600)
    visits(ev, "shortener", dict.fromkeys((36, 44, 52), 1), gap_s=240)
    visits(ev, "shortener_edge", dict.fromkeys((8, 12, 16), 1), gap_s=600)
    visits(ev, "shortener_edge", dict.fromkeys((36, 44, 52), 1), gap_s=300)
    # purchase_overdue: purchase days every 10 days; 20 (> 1.5 x 10) / 15 days since the last
    for user, first in (("buyer", 20), ("buyer_edge", 25)):
        for k, n in enumerate((first, first + 10, first + 20)):
            visit(ev, user, n)
            orders.append({"order_id": f"{user}-{k}", "user_id": user, "status": "paid",
                           "order_time": (pd.Timestamp(day(n), tz="UTC")
                                          + pd.Timedelta(hours=11)).isoformat(),
                           "amount": 20.0})
    # steady: an engaged visit every day, never declining
    visits(ev, "steady", dict.fromkeys(range(61), 1))
    root = tmp_path_factory.mktemp("action_fixture")
    for name, rows in (("events", ev), ("orders", orders)):
        (root / "landing" / name).mkdir(parents=True)
        pd.DataFrame(rows).to_csv(root / "landing" / name / f"{name}.csv", index=False)
    settings = make_settings(root, root / "landing")
    run(settings, day(0), day(60))
    warnings = read_table(settings.warehouse, "marts.fct_churn_warnings", "user_id")
    actions = read_table(settings.warehouse, "marts.user_actions", "queue_rank")
    users = read_table(settings.warehouse, "marts.dim_users", "user_id")
    return warnings.set_index("user_id"), actions, users.set_index("user_id")


def fired(warnings, user: str) -> set[str]:
    row = warnings.loc[user]
    return {s for s in SIGNALS if bool(row[s])}


def test_every_fixture_user_is_declining_and_in_scope(tables):
    warnings, _, users = tables
    declining = set(users.index[users["lifecycle_stage"] == "declining"])
    assert declining == set(users.index) - {"steady"}
    assert declining <= set(warnings.index)
    assert (warnings["snapshot_date"].astype(str).str[:10] == str(day(60))).all()


def test_engagement_dropped_at_half(tables):
    warnings, _, _ = tables
    assert warnings.loc["drop", ["engagement_cur", "engagement_prev"]].tolist() == [4, 10]
    assert fired(warnings, "drop") == {"engagement_dropped"}
    assert warnings.loc["drop_edge", ["engagement_cur", "engagement_prev"]].tolist() == [5, 10]
    assert fired(warnings, "drop_edge") == set()
    assert "engagement dropped: 4 engaged visits in the last 28 days vs 10 before" in \
        warnings.loc["drop", "signals"]


def test_idle_longer_than_their_usual_gap(tables):
    warnings, _, _ = tables
    row = warnings.loc["idler"]
    assert (row["idle_days"], row["usual_gap_days"], row["gaps"]) == (10, 2, 5)
    assert fired(warnings, "idler") == {"idle_longer_than_usual"}
    edge = warnings.loc["idler_edge"]
    assert (edge["idle_days"], edge["usual_gap_days"]) == (10, 5)
    assert fired(warnings, "idler_edge") == set()
    assert row["signals"] == "idle 10 days, usually 2.0 between visits"


def test_tier_dropped_in_a_week(tables):
    warnings, _, _ = tables
    row = warnings.loc["faller"]
    assert (row["tier_before"], row["tier_now"]) == ("high", "mid")
    # losing 12 of 16 visits in a week also halves engagement and breaks a daily habit
    assert fired(warnings, "faller") == {"tier_dropped", "engagement_dropped",
                                         "idle_longer_than_usual"}
    for user in ("drop", "idler", "quitter"):  # same tier as a week ago
        assert warnings.loc[user, "tier_before"] == warnings.loc[user, "tier_now"]


def test_stopped_a_key_event(tables):
    warnings, _, _ = tables
    row = warnings.loc["quitter"]
    assert (row["stopped_event"], row["stopped_event_prev_count"]) == ("add_to_cart", 3)
    assert fired(warnings, "quitter") == {"key_event_stopped"}
    assert pd.isna(warnings.loc["quitter_edge", "stopped_event"])
    assert fired(warnings, "quitter_edge") == set()


def test_visits_shorter(tables):
    warnings, _, _ = tables
    row = warnings.loc["shortener"]
    assert (row["visit_minutes_cur"], row["visit_minutes_prev"]) == (4.0, 10.0)
    assert fired(warnings, "shortener") == {"visits_shorter"}
    assert warnings.loc["shortener_edge", "visit_minutes_cur"] == 5.0
    assert fired(warnings, "shortener_edge") == set()


def test_purchase_overdue_against_their_own_rhythm(tables):
    warnings, _, _ = tables
    row = warnings.loc["buyer"]
    assert (row["days_since_purchase"], row["usual_purchase_gap_days"]) == (20, 10.0)
    assert fired(warnings, "buyer") == {"purchase_overdue"}
    assert warnings.loc["buyer_edge", "days_since_purchase"] == 15
    assert fired(warnings, "buyer_edge") == set()


def test_signals_fired_counts_the_signals(tables):
    warnings, _, _ = tables
    assert (warnings["signals_fired"] == warnings[SIGNALS].sum(axis=1)).all()
    assert (warnings.loc[warnings["signals_fired"] == 0, "signals"] == "").all()


def test_user_actions_order_the_day(tables):
    _, actions, users = tables
    # one row per layer the user is in, with the playbook's priority
    drop = actions[actions["user_id"] == "drop"].sort_values("action_rank")
    assert {"lifecycle", "tier"} <= set(drop["scheme"])
    first = drop.iloc[0]
    assert (first["scheme"], first["segment"], first["priority"]) == ("lifecycle", "declining", 1)
    assert "lifecycle declining: last active 10 days ago, engagement index 4" in first["reason"]
    assert "engagement dropped: 4 engaged visits" in first["reason"]
    assert drop["action_rank"].tolist() == list(range(1, len(drop) + 1))
    assert drop["priority"].is_monotonic_increasing
    # the whole table: priority first; queue_rank is a permutation of 1..n
    assert actions["priority"].is_monotonic_increasing
    assert actions["queue_rank"].tolist() == list(range(1, len(actions) + 1))
    # the buyers' RFM rows carry their numbers
    rfm = actions[(actions["user_id"] == "buyer") & (actions["scheme"] == "rfm11")]
    assert len(rfm) == 1
    assert rfm.iloc[0]["reason"].endswith("): R 20 days, F 3, M 60.0")
    # steady's first action is not a churn action
    steady = actions[(actions["user_id"] == "steady") & (actions["action_rank"] == 1)]
    assert steady.iloc[0]["segment"] != "declining"
    assert set(actions["user_id"]) == set(users.index)


def test_snapshot_day_is_the_runs_last(tables):
    warnings, _, _ = tables
    assert pd.Timestamp(warnings["snapshot_date"].iloc[0]).date() == dt.date(2025, 3, 2)
