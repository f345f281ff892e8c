"""Activity breakdowns, engagement tiers and the trend, on generated data
against the pandas reference; the anomaly check on a spike and an outage."""

import datetime as dt

import pandas as pd
import pytest

from orchestration.runner import run_pipeline
from sample_data.generator import GeneratorParams, generate, write_landing
from tests.conftest import SMALL, make_settings, read_table
from tests.reference import (
    actives_by_value,
    engagement_daily,
    robust_z,
    top_values,
    user_days,
    visits,
)

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

LAST = SMALL.start + dt.timedelta(days=SMALL.days - 1)
ACTIVE_COLS = ["dau", "wau", "mau", "calendar_week_actives", "calendar_month_actives"]


def _dates(df: pd.DataFrame, col: str = "activity_date") -> pd.DataFrame:
    df[col] = pd.to_datetime(df[col]).dt.date
    return df


@pytest.fixture(scope="module")
def ref_inputs(small_data):
    v = visits(small_data.events)
    seen = user_days(small_data.events, small_data.orders)
    channel = small_data.users.set_index("user_id")["channel"]
    platform = small_data.events.groupby("user_id")["platform"].first()
    return v, seen, channel, platform


@pytest.mark.parametrize("breakdown", ["all", "channel", "platform", "attribute.region"])
def test_active_users_by_breakdown_match_reference(small_run, ref_inputs, small_data,
                                                   breakdown):
    v, seen, channel, platform = ref_inputs
    active = v[v["is_engaged"]][["user_id", "activity_date"]].drop_duplicates()
    if breakdown == "all":
        seen_v, active_v, always = seen.assign(value="all"), active.assign(value="all"), ("all",)
    elif breakdown in ("channel", "attribute.region"):
        users = small_data.users.set_index("user_id")
        # the test configs keep 4 of the generator's 5 regions
        value = channel if breakdown == "channel" else top_values(users["region"], 4)
        assert breakdown == "channel" or (value == "other").any()
        seen_v = seen.assign(value=seen["user_id"].map(value))
        active_v, always = active.assign(value=active["user_id"].map(value)), ()
    else:  # each generated user has one platform; visits carry it
        vv = v.assign(value=v["user_id"].map(platform))
        seen_v = vv[["user_id", "activity_date", "value"]].drop_duplicates()
        active_v, always = vv[vv["is_engaged"]][["user_id", "activity_date", "value"]], ()
    ref = actives_by_value(seen_v, active_v, SMALL.start, LAST, always)
    got = _dates(read_table(small_run.warehouse, "marts.fct_active_users_daily", "activity_date"))
    got = got[got["breakdown"] == breakdown]
    merged = got.merge(
        ref,
        on=["activity_date", "breakdown_value"],
        how="outer",
        suffixes=("", "_ref"),
        indicator=True,
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    for col in ACTIVE_COLS:
        assert (merged[col] == merged[f"{col}_ref"]).all(), col
    assert len(got) >= SMALL.days


def test_engagement_index_and_tiers_match_reference_every_day(small_run, ref_inputs):
    v, seen, _, _ = ref_inputs
    engaged = v.groupby(["user_id", "activity_date"])["is_engaged"].sum().rename("engaged")
    ref = engagement_daily(engaged.reset_index(), seen, SMALL.start, LAST)
    got = _dates(
        read_table(small_run.warehouse, "marts.fct_user_engagement_daily", "activity_date, user_id")
    )
    cols = ["activity_date", "user_id", "engagement_index", "activity_tier"]
    ref = ref.sort_values(["activity_date", "user_id"]).reset_index(drop=True)[cols]
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), ref, check_dtype=False)
    assert set(got["activity_tier"]) == {"high", "mid", "low", "none"}
    # the snapshot is the last day, with 'none' for known users outside the window
    dim = read_table(small_run.warehouse, "marts.dim_user_engagement", "user_id")
    last = ref[ref["activity_date"] == LAST].set_index("user_id")["engagement_index"]
    assert dim.set_index("user_id")["engagement_index"].reindex(last.index).eq(last).all()
    assert (dim.loc[~dim["user_id"].isin(last.index), "activity_tier"] == "none").all()


def test_trend_excludes_campaign_traffic_and_scores_match_reference(small_run, small_data):
    trend = _dates(read_table(small_run.warehouse, "marts.fct_engagement_trend", "activity_date"))
    no_campaign = visits(small_data.events[small_data.events["campaign_id"].isna()])
    everything = visits(small_data.events)
    days = pd.Index(trend["activity_date"])
    ref_trend = no_campaign[no_campaign["is_engaged"]].groupby("activity_date").size()
    ref_all = everything[everything["is_engaged"]].groupby("activity_date").size()
    assert trend["engagement_trend"].tolist() == ref_trend.reindex(days, fill_value=0).tolist()
    assert (
        trend["engagement_with_campaign"].tolist() == ref_all.reindex(days, fill_value=0).tolist()
    )
    # the spike day shows in the with-campaign series, not in the trend
    spike = trend.set_index("activity_date").loc[small_data.spike_date]
    assert spike["campaign_engagement"] > 0.3 * spike["engagement_trend"]
    assert not spike["is_anomaly"]
    ref_z = robust_z(trend["engagement_trend"].tolist())
    for got_z, want in zip(trend["robust_z"], ref_z, strict=True):
        assert (pd.isna(got_z) and want is None) or got_z == pytest.approx(want, abs=1e-9)


# 60 days: past the launch phase, whose steep growth inflates the trailing MAD
# (30 days of launch give an outage only z = -2.9; see README, engagement trend).
TREND_DAYS = 60


def _latest_day_check(tmp_path, **gen):
    params = GeneratorParams(users=400, days=TREND_DAYS, seed=7, **gen)
    landing = tmp_path / "landing"
    write_landing(generate(params), landing, params)
    settings = make_settings(tmp_path / "wh", landing)
    last = params.start + dt.timedelta(days=TREND_DAYS - 1)
    outcome = run_pipeline(settings, params.start, last, log_level="WARNING")
    (check,) = [c for c in outcome.checks if c.check == "latest_day_not_anomalous"]
    return check, last


def test_outage_on_the_latest_day_warns(tmp_path):
    check, last = _latest_day_check(tmp_path, outage_day=TREND_DAYS - 1)
    assert not check.passed and check.severity == "WARN"
    assert check.metadata["activity_date"] == str(last)
    assert check.metadata["robust_z"] <= -3.5


def test_campaign_spike_on_the_latest_day_does_not_warn(tmp_path):
    check, last = _latest_day_check(tmp_path, spike_day=TREND_DAYS - 1)
    assert check.passed, check.metadata
    assert check.metadata["activity_date"] == str(last)
