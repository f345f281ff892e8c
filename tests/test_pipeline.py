"""End to end through Dagster and dbt on generated data, against the pandas reference."""

import datetime as dt

import pandas as pd
from pandas.testing import assert_frame_equal

from sample_data.generator import GeneratorParams, generate, write_landing
from tests.conftest import SMALL, make_settings, overall, read_table, run
from tests.reference import active_user_days, active_users_daily, visits

DAILY_TABLES = {
    "intermediate.int_sessions": "visit_id",
    "intermediate.int_user_days": "user_id, activity_date",
    "intermediate.int_user_platform_days": "user_id, activity_date, platform",
    "intermediate.int_experiment_user_engagement": "experiment_id, user_id",
    "marts.fct_active_users_daily": "activity_date, breakdown, breakdown_value",
    "marts.fct_user_engagement_daily": "activity_date, user_id",
    "marts.dim_user_engagement": "user_id",
    "marts.fct_engagement_trend": "activity_date",
    "marts.fct_experiment_readout": "experiment_id, variant",
    "intermediate.int_user_periods": "user_id, grain, period_start",
    "intermediate.int_user_cohorts": "user_id",
    "marts.fct_growth_accounting": "grain, period_start",
    "marts.fct_retention_cohorts": "cohort_grain, cohort_period, period_number, breakdown, "
    "breakdown_value",
    "marts.fct_product_stage": "month_start",
    "marts.fct_user_lifecycle_daily": "activity_date, user_id",
    "marts.fct_lifecycle_stage_counts": "activity_date, lifecycle_stage",
    "marts.fct_lifecycle_transitions": "activity_date, from_stage, to_stage",
    "marts.fct_channel_quality": "channel, cohort_month",
    "marts.fct_aarrr_funnel": "cohort_month, step_number",
    "intermediate.int_user_rfm_days": "user_id, activity_date",
    "intermediate.int_user_rfm_measures": "user_id",
    "intermediate.int_btyd_holdout": "user_id",
    "intermediate.int_churn_features": "feature_date, user_id",
    "marts.fct_revenue_daily": "activity_date",
    "marts.fct_repeat_purchase": "cohort_month",
    "marts.dim_user_purchase_summary": "user_id",
    "marts.user_rfm": "user_id",
    "marts.user_clv": "user_id",
    "marts.user_churn_scores": "user_id",
    "marts.user_winback": "winback_rank",
    "marts.dim_users": "user_id",
}


def test_sessions_match_reference(small_run, small_data):
    got = read_table(small_run.warehouse, "intermediate.int_sessions", "visit_id")
    ref = visits(small_data.events)
    assert len(got) == len(ref)
    assert got["is_bounced"].sum() == ref["is_bounced"].sum()
    assert got["is_engaged"].sum() == ref["is_engaged"].sum()
    assert got["events"].sum() == len(small_data.events)


def test_user_days_active_set_matches_reference(small_run, small_data):
    got = read_table(small_run.warehouse, "intermediate.int_user_days", "user_id, activity_date")
    got["activity_date"] = pd.to_datetime(got["activity_date"]).dt.date
    got_active = set(
        got.loc[got["is_active"], ["user_id", "activity_date"]].itertuples(index=False, name=None)
    )
    ref = active_user_days(small_data.events)
    ref_active = set(ref.itertuples(index=False, name=None))
    assert got_active == ref_active
    # revenue of the user-day fact = paid orders
    paid = small_data.orders[small_data.orders["status"] == "paid"]["amount"].sum()
    assert abs(got["revenue"].sum() - paid) < 1e-6


def test_dau_wau_mau_match_reference_every_day(small_run, small_data):
    got = overall(small_run.warehouse)
    last = SMALL.start + dt.timedelta(days=SMALL.days - 1)
    ref = active_users_daily(active_user_days(small_data.events), SMALL.start, last)
    assert len(got) == SMALL.days
    assert (got["breakdown"] == "all").all() and (got["breakdown_value"] == "all").all()
    got["activity_date"] = pd.to_datetime(got["activity_date"]).dt.date
    merged = got.merge(ref, on="activity_date", suffixes=("", "_ref"), validate="one_to_one")
    for col in ("dau", "wau", "mau"):
        assert (merged[col] == merged[f"{col}_ref"]).all(), col
    # stickiness = DAU / MAU
    assert ((merged["stickiness"] - merged["dau"] / merged["mau"]).abs() < 1e-12).all()
    # new users: first-ever active day, summing to all users ever active
    assert got["new_users"].sum() == active_user_days(small_data.events)["user_id"].nunique()


def test_bounced_key_events_exist_in_sample_and_do_not_count(small_run, small_data):
    v = visits(small_data.events)
    assert (v["is_bounced"] & (v["key_events"] > 0)).sum() > 0  # the case is exercised
    got = overall(small_run.warehouse)
    assert got["bounced_only_users"].sum() > 0


def _tables(settings) -> dict[str, pd.DataFrame]:
    return {t: read_table(settings.warehouse, t, order) for t, order in DAILY_TABLES.items()}


def _assert_same(a: dict, b: dict, what: str) -> None:
    for table in DAILY_TABLES:
        assert_frame_equal(a[table], b[table], check_dtype=True, obj=f"{what}: {table}")


def test_incremental_equals_backfill_equals_full_refresh_and_reruns_are_idempotent(tmp_path):
    params = GeneratorParams(users=150, days=8, seed=5)
    landing = tmp_path / "landing"
    write_landing(generate(params), landing, params)
    days = [params.start + dt.timedelta(days=i) for i in range(params.days)]

    daily = make_settings(tmp_path / "daily", landing, incremental={"lookback_days": 2})
    for day in days:
        run(daily, day, day)
    by_day = _tables(daily)

    backfill = make_settings(tmp_path / "backfill", landing, incremental={"lookback_days": 2})
    run(backfill, days[0], days[-1])
    _assert_same(by_day, _tables(backfill), "day by day vs one backfill run")

    run(backfill, days[0], days[-1], full_refresh=True)
    _assert_same(by_day, _tables(backfill), "day by day vs full refresh")

    run(daily, days[4], days[4])  # rerun a middle day: nothing changes
    _assert_same(by_day, _tables(daily), "rerun of one day")
    fact = by_day["marts.fct_active_users_daily"]
    assert (fact["breakdown"] == "all").sum() == params.days


def test_late_events_within_the_lookback_count_on_their_day(tmp_path):
    params = GeneratorParams(users=60, days=5, seed=9)
    landing = tmp_path / "landing"
    write_landing(generate(params), landing, params)
    days = [params.start + dt.timedelta(days=i) for i in range(params.days)]
    settings = make_settings(tmp_path / "wh", landing, incremental={"lookback_days": 2})
    for day in days:
        run(settings, day, day, models_only=True)
    before = overall(settings.warehouse).set_index("activity_date")["dau"]
    # a newcomer's visit on day 3 arrives late, with the files of day 4 (one day late)
    late = pd.DataFrame({
        "event_id": ["late-1", "late-2"], "user_id": ["latecomer"] * 2,
        "event_name": ["search", "add_to_cart"],
        "event_time": [pd.Timestamp(days[3], tz="UTC") + pd.Timedelta(hours=h, seconds=s)
                       for h, s in ((9, 0), (9, 40))],
    })
    late.to_parquet(landing / "events" / "late_arrivals.parquet", index=False)
    run(settings, days[4], days[4], models_only=True)  # the next run: its lookback covers day 3
    after = overall(settings.warehouse).set_index("activity_date")["dau"]
    day3 = pd.Timestamp(days[3])
    assert after[day3] == before[day3] + 1
    assert (after.drop(day3) == before.drop(day3)).all()
    user_days = read_table(settings.warehouse, "intermediate.int_user_days", "activity_date",
                           "user_id = 'latecomer'")
    assert pd.to_datetime(user_days["activity_date"]).tolist() == [day3]
    run(settings, days[4], days[4], models_only=True)  # and a rerun counts it once
    assert overall(settings.warehouse).set_index("activity_date")["dau"][day3] == after[day3]
