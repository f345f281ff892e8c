import dataclasses
import datetime as dt

import pandas as pd
from pandas.testing import assert_frame_equal

from sample_data.generator import GeneratorParams, generate, write_landing

P = GeneratorParams(users=300, days=40, seed=11)


def test_same_seed_same_data():
    a, b = generate(P), generate(P)
    for name in ("users", "events", "orders", "experiment_assignments", "channel_costs", "truth"):
        assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


def test_other_seed_other_data():
    a = generate(P)
    b = generate(GeneratorParams(users=300, days=40, seed=12))
    assert not a.events["user_id"].equals(b.events["user_id"])


def test_events_stay_in_range_and_ids_unique():
    d = generate(P)
    days = d.events["event_time"].dt.date
    assert days.min() >= P.start and days.max() < P.start + dt.timedelta(days=P.days)
    assert d.events["event_id"].is_unique and d.orders["order_id"].is_unique
    assert set(d.orders["status"]) <= {"paid", "refunded", "cancelled"}
    assert (d.orders["amount"] > 0).all()


def test_data_has_what_the_issue_asks_for():
    d = generate(P)
    assert d.events["campaign_id"].notna().any()
    assert d.events["session_id"].isna().any() and d.events["session_id"].notna().any()
    assert d.users["referrer_user_id"].notna().any()
    assert set(d.orders["status"]) == {"paid", "refunded", "cancelled"}
    assert d.truth["churn_date"].notna().any() and d.truth["return_date"].notna().any()
    assert {"control", "treatment"} <= set(d.experiment_assignments["variant"])
    # the spike day has far more campaign visits than an average day
    camp = d.events[d.events["campaign_id"] == "flash_spike"]
    assert set(camp["event_time"].dt.date) == {d.spike_date}


def test_outage_day_drops_traffic():
    base = generate(P)
    out = generate(GeneratorParams(users=300, days=40, seed=11, outage_day=20))
    day = P.start + dt.timedelta(days=20)
    n_base = (base.events["event_time"].dt.date == day).sum()
    n_out = (out.events["event_time"].dt.date == day).sum()
    assert n_out < 0.3 * n_base


def test_channel_quality_shows_in_ground_truth():
    d = generate(GeneratorParams(users=3000, days=60, seed=3))
    t = d.truth
    churned = t.groupby("channel_quality")["churn_date"].apply(lambda s: s.notna().mean())
    assert churned["low"] > churned["high"]


def test_write_landing_layout(tmp_path):
    d = generate(P)
    counts = write_landing(d, tmp_path, P)
    assert counts["events"] == len(d.events)
    assert len(list((tmp_path / "events").glob("*.parquet"))) == P.days
    assert (tmp_path / "users" / "users.csv").exists()
    assert (tmp_path / "orders" / "orders.jsonl").exists()
    truth = pd.read_parquet(tmp_path / "_truth" / "users_truth.parquet")
    assert len(truth) == P.users


def test_a_funnel_break_loses_one_platforms_step_events_and_nothing_else():
    params = GeneratorParams(users=300, days=20, seed=4)
    broken = dataclasses.replace(params, funnel_break_day=10, funnel_break_days=5)
    a, b = generate(params).events, generate(broken).events
    changed = a["event_name"] != b["event_name"]
    day = (a["event_time"] - pd.Timestamp(params.start, tz="UTC")).dt.days
    # only android view_item events on days 10..14, turned into page views
    assert changed.any()
    assert set(a.loc[changed, "event_name"]) == {"view_item"}
    assert set(b.loc[changed, "event_name"]) == {"page_view"}
    assert set(a.loc[changed, "platform"]) == {"android"}
    assert day[changed].between(10, 14).all()
    inside = day.between(10, 14) & (a["platform"] == "android") & (a["event_name"] == "view_item")
    assert 0.45 < changed[inside].mean() < 0.75  # the 60 % share
    assert_frame_equal(a.drop(columns="event_name"), b.drop(columns="event_name"))
