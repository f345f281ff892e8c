from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from pandas.testing import assert_frame_equal

from orchestration.runner import run_pipeline
from orchestration.settings import Settings
from sample_data.generator import GeneratorParams, generate, write_landing

SMALL = GeneratorParams(users=400, days=30, seed=7, start=dt.date(2025, 1, 1))
# every test run's configured funnel (the generator's key events, in a plausible order),
# so that runs compared table by table all build it
SMALL_FUNNEL = {"steps": ["search", "view_item", "add_to_cart"], "within_hours": 2,
                "breakdowns": ["platform", "channel"]}
# and its segment (users of the ios app who searched twice in a week)
SMALL_SEGMENT = {"platform": ["ios"], "min_events": {"search": 2}, "days": 7}


def write_config(folder: Path, landing: Path, /, **overrides) -> Path:
    cfg = {
        "start_date": "2025-01-01",
        "paths": {
            "landing": str(landing),
            "warehouse": str(folder / "warehouse.duckdb"),
            "dagster_home": str(folder / "dagster_home"),
            "serving": str(folder / "serving"),
        },
        "schedule": {"enabled": False},
        # the tests write their landing a moment before they run it
        "landing": {"settle_seconds": 0},
        "funnels": {"discovery": SMALL_FUNNEL},
        "segments": {"ios_searchers": SMALL_SEGMENT},
        # the generator's users carry a region: every run breaks its tables down by it
        "breakdowns": {"attributes": ["region"], "top_values": 4},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            cfg.setdefault(key, {}).update(value)
        else:
            cfg[key] = value
    path = folder / "userops.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def make_settings(folder: Path, landing: Path, /, **overrides) -> Settings:
    return Settings.build(write_config(folder, landing, **overrides))


def run(
    settings: Settings,
    start: dt.date | None = None,
    end: dt.date | None = None,
    full_refresh: bool = False,
    models_only: bool = False,
) -> None:
    """A whole run, or with `models_only` the landing and the dbt models alone."""
    run_pipeline(settings, start, end, full_refresh, log_level="WARNING",
                 models_only=models_only)


def generated_landing(folder: Path, params: GeneratorParams) -> tuple[Path, list[dt.date]]:
    """A seeded landing under `folder`, and its days."""
    landing = folder / "landing"
    write_landing(generate(params), landing, params)
    return landing, [params.start + dt.timedelta(days=i) for i in range(params.days)]


def read_table(warehouse: Path, table: str, order_by: str, where: str = "true") -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"select * from {table} where {where} order by {order_by}").df()
    finally:
        con.close()


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
    "marts.fct_lifecycle_stage_counts": "activity_date, breakdown, breakdown_value, "
                                         "lifecycle_stage",
    "marts.fct_lifecycle_transitions": "activity_date, from_stage, to_stage",
    "marts.fct_user_base_flow": "grain, period_start",
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
    "intermediate.int_action_units": "user_id, action_key, assignment_period",
    "marts.fct_contact_issues": "issue",
    "marts.fct_action_outcomes": "action_key, cohort_week, channel, outcome_days",
    "intermediate.int_identity_links": "anonymous_id, user_id, link_date",
    "intermediate.int_visitor_days": "activity_date, user_id, anonymous_id",
    "intermediate.int_visitors": "visitor_id",
    "marts.fct_visitors_daily": "activity_date",
    "marts.fct_signups_daily": "activity_date, channel, signup_method",
    "marts.dim_identities": "anonymous_id",
    "intermediate.int_funnel_progress": "funnel, grain, period_start, user_id, step_number",
    "marts.fct_funnel_daily": "funnel, activity_date, breakdown, breakdown_value, step_number",
    "marts.fct_funnel_weekly": "funnel, week_start, breakdown, breakdown_value, step_number",
    "marts.fct_event_transitions": "week_start, from_event, to_event",
    "marts.dim_user_segments": "segment, user_id",
    "marts.fct_segment_summary": "segment",
    "marts.fct_segment_active_users_daily": "segment, activity_date",
    "marts.fct_segment_retention_weekly": "segment, cohort_week, week_number",
    "marts.fct_segment_lifecycle_stage_counts": "segment, activity_date, lifecycle_stage",
    "marts.fct_segment_funnel_weekly": "segment, funnel, week_start, step_number",
}


def built_tables(settings) -> dict[str, pd.DataFrame]:
    """Every table whose rows a run over a range of days must build the same however the
    days were split into runs (the snapshot tables as of the last day)."""
    return {t: read_table(settings.warehouse, t, order) for t, order in DAILY_TABLES.items()}


def assert_same_tables(a: dict, b: dict, what: str) -> None:
    for table in DAILY_TABLES:
        assert_frame_equal(a[table], b[table], check_dtype=True, obj=f"{what}: {table}")


def overall(warehouse: Path) -> pd.DataFrame:
    """The overall rows of fct_active_users_daily, by day."""
    return read_table(
        warehouse, "marts.fct_active_users_daily", "activity_date", "breakdown = 'all'"
    )


def pytest_configure(config):
    """Build the dbt manifest once, before any worker starts (pytest-xdist runs modules in
    parallel processes; two of them must not write dbt's target folder at once)."""
    if hasattr(config, "workerinput"):  # a worker: the controller has done it
        return
    from orchestration.dbt.project import manifest_is_stale, prepare_manifest

    if manifest_is_stale():
        prepare_manifest(Settings.build(None))


# The slowest modules, slowest first (seconds of one module's tests in a clean-clone run
# with --durations=0). pytest-xdist hands out whole modules (--dist loadfile) in this
# order (--no-loadscope-reorder; its default puts modules with many tests first, which
# left the one-test, three-minute equality module to start last, beside an idle worker).
SLOWEST_FIRST = (
    "test_scheduler_postgres.py",  # mostly waiting for the cron minute
    "test_incremental_equality.py",
    "test_cli_and_cdnow.py",
    "test_degenerate_runs.py",
    "test_crash_safety.py",
    "test_fixtures_e2e.py",
    "test_pipeline.py",
    "test_value_cdnow.py",
    "test_loop_e2e.py",
    "test_definition.py",
    "test_catch_up.py",
    "test_churn_e2e.py",
    "test_held_back.py",
    "test_serving.py",
    "test_engagement_e2e.py",
    "test_quality_suites.py",
    "test_report.py",
)


def pytest_collection_modifyitems(items):
    """Slowest modules first, the rest in their collected order (the same on every worker:
    pytest-xdist checks that workers collect one list)."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # a stable sort


@pytest.fixture(scope="session", autouse=True)
def _quiet_logs():
    logging.getLogger("alembic").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def small_data():
    return generate(SMALL)


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory, small_data) -> Path:
    out = tmp_path_factory.mktemp("landing_small")
    write_landing(small_data, out, SMALL)
    return out


@pytest.fixture(scope="session")
def small_run(tmp_path_factory, small_landing) -> Settings:
    """The small generated landing, run over all its days in one backfill run."""
    settings = make_settings(tmp_path_factory.mktemp("wh_small"), small_landing)
    run(settings, SMALL.start, SMALL.start + dt.timedelta(days=SMALL.days - 1))
    return settings
