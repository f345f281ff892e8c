"""Hand-built users pinning the value tables: purchase summary, revenue, repeat purchase,
RFM from configured event sources, and the special-user flags of dim_users.

Every expected number below was worked out by hand from the rows written here.
"""

import datetime as dt
import json

import pandas as pd
import pytest

from tests.conftest import make_settings, read_table, run
from tests.test_engagement_fixtures import _visit

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

D0 = dt.date(2025, 1, 1)
LAST = 39  # the snapshot day: day 39 = 9 Feb 2025


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def _order(rows: list, order_id: str, user: str, n: int, amount: float, status: str = "paid"):
    rows.append({"order_id": order_id, "user_id": user,
                 "order_time": f"{day(n)}T15:00:00Z", "amount": amount, "status": status})


def _event(rows: list, user: str, n: int, name: str, props: dict | None = None, k: int = 0):
    rows.append({"event_id": f"{user}-{name}-{n}-{k}", "user_id": user, "event_name": name,
                 "event_time": f"{day(n)}T20:00:{k:02d}Z", "platform": "app",
                 "properties": json.dumps(props) if props is not None else None})


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    events: list = []
    for n in range(LAST + 1):
        _visit(events, "ann", day(n))
    for n in (2, 3):
        _visit(events, "bob", day(n))
    for n in range(2, LAST + 1):
        _visit(events, "cat", day(n))
    _visit(events, "dan", day(5))
    # RFM sources of a live-streaming product: R = "watch", F = its minutes, M = property
    # amount of "tip"
    _event(events, "ann", 30, "watch", {"minutes": 10})
    _event(events, "ann", 35, "watch", {"minutes": 5.5})
    _event(events, "ann", 35, "tip", {"amount": 2.5})
    _event(events, "ann", 36, "tip", {"amount": "lots"})  # not a number: counts 0
    for k in range(3):  # the third watch has no minutes: adds 0
        _event(events, "cat", 38, "watch", {"minutes": 20} if k < 2 else None, k=k)
    _event(events, "cat", 38, "tip", {"amount": 7})
    _event(events, "cat", 10, "tip")  # no properties at all: counts 0
    orders: list = []
    _order(orders, "o1", "ann", 1, 10.0)
    _order(orders, "o2", "ann", 1, 5.0)  # same day: one purchase day
    _order(orders, "o3", "ann", 4, 20.0)
    _order(orders, "o4", "ann", 10, 30.0, "refunded")
    _order(orders, "o5", "ann", 12, 7.0, "cancelled")
    _order(orders, "o6", "ann", 20, 40.0)
    _order(orders, "o7", "bob", 3, 12.0)
    users = pd.DataFrame([
        {"user_id": "ann", "signup_time": f"{day(0)}T08:00:00Z", "channel": "organic",
         "referrer_user_id": None},
        {"user_id": "bob", "signup_time": f"{day(2)}T08:00:00Z", "channel": "referral",
         "referrer_user_id": "ann"},
        {"user_id": "cat", "signup_time": f"{day(2)}T08:00:00Z", "channel": "referral",
         "referrer_user_id": "ann"},
        {"user_id": "dan", "signup_time": f"{day(5)}T08:00:00Z", "channel": "referral",
         "referrer_user_id": "ann"},
        {"user_id": "eve", "signup_time": f"{day(3)}T08:00:00Z", "channel": "referral",
         "referrer_user_id": "bob"},
    ])
    root = tmp_path_factory.mktemp("value_fixture")
    landing = root / "landing"
    for entity, frame in (("events", pd.DataFrame(events)), ("orders", pd.DataFrame(orders)),
                          ("users", users)):
        (landing / entity).mkdir(parents=True)
        frame.to_csv(landing / entity / f"{entity}.csv", index=False)
    settings = make_settings(
        root, landing,
        rfm={"recency_event": "watch", "frequency_event": "watch", "frequency_property": "minutes",
             "monetary_event": "tip", "monetary_property": "amount"},
        special_users={"core_min_median_visit_minutes": 0, "core_min_spend_30d": 1},
    )
    run(settings, day(0), day(LAST))
    return settings.warehouse


def by_user(warehouse, table: str) -> pd.DataFrame:
    return read_table(warehouse, table, "user_id").set_index("user_id")


def test_purchase_summary_by_hand(warehouse):
    s = by_user(warehouse, "marts.dim_user_purchase_summary")
    assert list(s.index) == ["ann", "bob"]  # refunded and cancelled orders are no purchase
    # ann: purchase days 1, 4, 20 (two orders on day 1); snapshot day 39
    assert s.loc["ann", ["frequency", "recency", "T"]].tolist() == [2, 19, 38]
    assert s.loc["ann", "monetary_value"] == pytest.approx((20 + 40) / 2)
    assert s.loc["ann", ["paid_orders", "revenue"]].tolist() == [4, 75.0]
    assert s.loc["bob", ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0, 36, 0]


def test_revenue_daily_by_hand(warehouse):
    r = read_table(warehouse, "marts.fct_revenue_daily", "activity_date")
    r["activity_date"] = pd.to_datetime(r["activity_date"]).dt.date
    r = r.set_index("activity_date")
    assert r.loc[day(1), ["gmv_gross", "refunds", "gmv_net", "paid_orders", "paying_users",
                          "active_users"]].tolist() == [15.0, 0.0, 15.0, 2, 1, 1]
    assert r.loc[day(1), ["arpu", "arppu", "paying_conversion"]].tolist() == [15.0, 15.0, 1.0]
    # the refunded order subtracts on its day; the cancelled one never counted
    assert r.loc[day(10), ["gmv_gross", "refunds", "gmv_net", "refunded_orders"]].tolist() == [
        30.0, 30.0, 0.0, 1]
    assert r.loc[day(12), ["gmv_gross", "gmv_net", "paid_orders"]].tolist() == [0.0, 0.0, 0]
    # day 3: bob pays 12; ann, bob and cat are active
    assert r.loc[day(3), "arpu"] == pytest.approx(12 / 3)
    assert r.loc[day(3), "paying_conversion"] == pytest.approx(1 / 3)
    # first purchase within 30 days of the cohort day: ann 1/1; bob yes and cat no (day 2)
    assert r.loc[day(0), "first_purchase_conversion"] == 1.0
    assert r.loc[day(2), ["new_users", "first_purchase_conversion"]].tolist() == [2, 0.5]
    assert r.loc[day(3), "first_purchase_conversion"] == 0.0  # eve never buys
    assert pd.isna(r.loc[day(7), "first_purchase_conversion"])  # nobody new that day
    assert pd.isna(r.loc[day(15), "first_purchase_conversion"])  # 15 + 29 > 39: not elapsed
    assert r["gmv_net"].sum() == pytest.approx(87.0)


def test_repeat_purchase_by_hand(warehouse):
    rp = read_table(warehouse, "marts.fct_repeat_purchase", "cohort_month nulls last")
    assert len(rp) == 2  # January and all
    for row in rp.itertuples():
        assert (row.buyers, row.buyers_short_elapsed, row.buyers_long_elapsed) == (2, 2, 0)
        assert row.repeat_rate_short == 0.5  # ann came back after 3 days, bob never
        assert pd.isna(row.repeat_rate_long)  # 90 days have not passed for anyone
        assert (row.second_buyers, row.second_to_third_rate) == (1, 1.0)
        assert row.median_days_to_second == 3


def test_rfm_from_configured_event_sources(warehouse):
    rfm = by_user(warehouse, "marts.user_rfm")
    assert list(rfm.index) == ["ann", "cat"]  # only users with an R event ("watch")
    # F = minutes watched (rfm.frequency_property), fractions kept
    assert rfm.loc["ann", ["recency_days", "frequency", "monetary"]].tolist() == [4, 15.5, 2.5]
    assert rfm.loc["cat", ["recency_days", "frequency", "monetary"]].tolist() == [1, 40.0, 7.0]
    # cat is more recent, more frequent and spent more. A score is 1 + floor(5 x share of
    # users strictly worse): with two users the better one has half below it, so 3
    assert rfm.loc["cat", "rfm_score"] == "333"
    assert rfm.loc["ann", "rfm_score"] == "111"
    assert rfm.loc["cat", "cn8_segment"] == "important_value"
    assert rfm.loc["cat", "cn8_segment_zh"] == "重要价值客户"
    assert rfm.loc["ann", "cn8_segment"] == "general_retain"
    assert rfm["rfm11_action"].notna().all() and rfm["cn8_action"].notna().all()


def test_special_user_flags_by_hand(warehouse):
    u = by_user(warehouse, "marts.dim_users")
    assert list(u.index) == ["ann", "bob", "cat", "dan", "eve"]
    # evangelist: ann referred bob, cat and dan and is still active; bob referred only eve
    assert u["is_evangelist"].to_dict() == {
        "ann": True, "bob": False, "cat": False, "dan": False, "eve": False}
    assert u.loc["ann", "referred_users"] == 3
    # angel: a purchase within the first 7 days (ann day 1, bob day 3), or very active from
    # the first days: cat's index reaches 7 in her first week, above tier high scaled to
    # 7 days (12 x 7 / 28 = 3; the unscaled 12 asked four weeks of activity of one)
    assert u["is_angel_user"].to_dict() == {
        "ann": True, "bob": True, "cat": True, "dan": False, "eve": False}
    # core (median visit >= 0 min, spend >= 1 over 30 days): ann and cat were active in
    # each of the last 4 weeks, but only ann spent (40 on day 20)
    assert u["is_core_user"].to_dict() == {
        "ann": True, "bob": False, "cat": False, "dan": False, "eve": False}
    assert u.loc["ann", ["lifetime_paid_orders", "lifetime_revenue"]].tolist() == [4, 75.0]
    assert u.loc["eve", "lifetime_paid_orders"] == 0 and pd.isna(u.loc["eve", "first_active_date"])
    assert u.loc["ann", "rfm11_segment"] == "hibernating"  # R1 F1 among two users
    assert u.loc["dan", "lifecycle_stage"] == "churned"


def test_short_history_trains_no_churn_model_and_says_why(warehouse):
    runs = read_table(warehouse, "marts.churn_model_runs", "snapshot_date",
                      "method <> 'backtest'")
    assert len(runs) == 1
    assert runs.loc[0, "status"] == "insufficient_history"
    assert "no champion" in runs.loc[0, "message"]
    folds = read_table(warehouse, "marts.churn_model_runs", "fold, candidate",
                       "method = 'backtest'")
    assert (folds["status"] == "skipped").all() and not folds["is_champion"].any()
    assert "2 x 30 days" in runs.loc[0, "message"]
    assert pd.isna(runs.loc[0, "model_auc"])
    assert read_table(warehouse, "marts.user_churn_scores", "user_id").empty
    assert read_table(warehouse, "marts.dim_users", "user_id")["risk_band"].isna().all()
