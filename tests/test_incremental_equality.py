"""Day-by-day runs, one backfill run and a full refresh build the same rows, table by
table, and a rerun changes nothing. In its own module: its eleven runs are the suite's
longest single path, which pytest-xdist then runs beside the other modules."""


import pandas as pd
from pandas.testing import assert_frame_equal

from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, make_settings, read_table, run

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
    "marts.fct_user_lifecycle_spans": "user_id, valid_from",
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
    "marts.fct_active_user_sources": "activity_date",
    "marts.fct_tier_movements": "activity_date, from_tier, to_tier",
    "marts.fct_channel_traffic_daily": "activity_date, channel",
    "marts.fct_campaign_quality": "campaign_id",
    "marts.fct_churn_warnings": "user_id",
    "marts.user_actions": "queue_rank",
    "intermediate.int_churn_backtest_summaries": "cutoff_date, user_id",
    "marts.churn_model_calibration": "snapshot_date, candidate, bin",
}


def _tables(settings) -> dict[str, pd.DataFrame]:
    return {t: read_table(settings.warehouse, t, order) for t, order in DAILY_TABLES.items()}


def _assert_same(a: dict, b: dict, what: str) -> None:
    for table in DAILY_TABLES:
        assert_frame_equal(a[table], b[table], check_dtype=True, obj=f"{what}: {table}")


def test_incremental_equals_backfill_equals_full_refresh_and_reruns_are_idempotent(tmp_path):
    params = GeneratorParams(users=150, days=8, seed=5)
    landing, days = generated_landing(tmp_path, params)

    # a short churn horizon and grid, so labels complete within the eight days and the
    # incremental int_churn_features has labels to get right
    config = {"incremental": {"lookback_days": 2},
              "churn": {"horizon_days": 2, "snapshot_every_days": 2}}
    daily = make_settings(tmp_path / "daily", landing, **config)
    # the days before the last build the dbt models alone: the snapshot tables (scores,
    # dim_users, win-back) are a function of the last day's state, which the last run
    # builds in full, so every table below is still compared
    for day in days[:-1]:
        run(daily, day, day, models_only=True)
    run(daily, days[-1], days[-1])
    by_day = _tables(daily)

    features = by_day["intermediate.int_churn_features"]
    assert features["is_churned"].notna().sum() > 50 and features["is_churned"].isna().any()
    assert features["feature_date"].nunique() >= 4

    backfill = make_settings(tmp_path / "backfill", landing, **config)
    run(backfill, days[0], days[-1])
    _assert_same(by_day, _tables(backfill), "day by day vs one backfill run")

    run(backfill, days[0], days[-1], full_refresh=True)
    _assert_same(by_day, _tables(backfill), "day by day vs full refresh")

    run(daily, days[4], days[4])  # rerun a middle day: nothing changes
    _assert_same(by_day, _tables(daily), "rerun of one day")
    fact = by_day["marts.fct_active_users_daily"]
    assert (fact["breakdown"] == "all").sum() == params.days
