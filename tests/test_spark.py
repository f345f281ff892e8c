"""The same pipeline on Apache Spark (warehouse.engine: spark, a local SparkSession) gives
the same marts as on DuckDB, row by row, and its daily runs and reruns are idempotent.

Marked `spark`: it needs the optional dependencies and a Java runtime, and Spark's local
mode takes minutes, so the default suite leaves it out and CI runs it on its own:
`uv run --locked --extra spark pytest -m spark` (README, "Scale out").
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from data_quality.landing.lake import PART_OF
from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, make_settings, run
from tests.marts import assert_same_marts, marts, types

pytestmark = [pytest.mark.spark, pytest.mark.e2e]  # whole runs on Spark

PARAMS = GeneratorParams(users=300, days=60, seed=11, start=dt.date(2025, 1, 1))
# a short churn horizon, so 60 days train the supervised model on both engines
# a funnel and (below) a visitor who identifies, so those models run on both engines (the
# test configs' region breakdown of the activity tables too)
CONFIG = {"churn": {"horizon_days": 14}, "incremental": {"lookback_days": 2},
          "funnels": {"discovery": {"steps": ["search", "view_item", "add_to_cart"],
                                    "within_hours": 2,
                                    "breakdowns": ["platform", "attribute.region"]}}}

@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    landing, days = generated_landing(root, PARAMS)
    # a few bad rows, so the quarantine has something to carry to the lake
    first = pd.read_parquet(sorted((landing / "events").glob("*.parquet"))[0])
    user = first["user_id"].iloc[0]
    pd.DataFrame({
        "event_id": [first["event_id"].iloc[0], "bad-1", "bad-2", "visit-1", "visit-2"],
        "user_id": [user, "u1", "", "", user],
        "anonymous_id": [None, None, None, "anon-x", "anon-x"],
        "event_name": ["page_view", "page_view", "page_view", "search", "identify"],
        "event_time": [str(first["event_time"].iloc[0]), "not a time", "2025-01-05 10:00:00",
                       "2025-01-06 10:00:00", "2025-01-06 10:05:00"],
    }).to_csv(landing / "events" / "redelivered.csv", index=False)
    duck = make_settings(root / "duckdb", landing, **CONFIG)
    spark = make_settings(root / "spark", landing, warehouse={"engine": "spark"}, **CONFIG)
    # on each engine a backfill of all but the last two days, then those two as daily runs
    # (history tables such as churn_model_runs keep a row per run's snapshot day)
    for settings in (duck, spark):
        run(settings, days[0], days[-3])
        run(settings, days[-2], days[-2])
        run(settings, days[-1], days[-1])
    return duck, spark, days


def test_every_mart_equals_duckdbs_row_by_row(engines):
    duck, spark, _ = engines
    assert_same_marts(duck.serving, spark.serving, "daily runs on Spark vs DuckDB")
    published = marts(spark.serving)
    # the comparison is not empty: every kind of mart has rows, and churn was trained
    for table in ("fct_active_users_daily", "fct_retention_cohorts", "fct_user_lifecycle_spans",
                  "user_rfm", "user_clv", "user_churn_scores", "dim_users",
                  "fct_segment_active_users_daily", "fct_segment_funnel_weekly"):
        assert len(published[table]) > 0, table
    runs = published["churn_model_runs"]
    model = runs[runs["method"] != "backtest"]
    assert (model["status"] == "ok").all() and model["model_auc"].notna().all()
    backtest = runs[runs["method"] == "backtest"]  # the challengers met on some fold
    assert (backtest["status"] == "ok").any() and backtest["is_champion"].any()


def test_same_column_types_except_the_documented_ones(engines):
    duck, spark, _ = engines
    a, b = types(duck.serving), types(spark.serving)
    differences = {(t, c): (a[t][c], b[t].get(c)) for t in a for c in a[t]
                   if a[t][c] != b[t].get(c)}
    assert differences == {}


def test_a_rerun_of_a_day_on_spark_changes_nothing(engines):
    duck, spark, days = engines
    run(spark, days[30], days[30])
    assert_same_marts(duck.serving, spark.serving, "after a rerun of one day on Spark")


def test_the_lake_holds_the_landings_rows_and_quarantine(engines):
    """raw = staged + quarantined on the lake too: Spark's raw tables (views over the lake)
    have the rows of the landing's raw views, entity by entity."""
    _, spark, _ = engines
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    con = duckdb.connect(str(spark.warehouse), read_only=True)
    try:
        for table in PART_OF:
            landed = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            assert session.table(f"raw.{table}").count() == landed, table
        reasons = dict(con.execute("select reason, count(*) from raw.quarantine group by 1")
                       .fetchall())
        assert len(reasons) >= 2  # a duplicate and at least one bad value
    finally:
        con.close()
    lake = {r["reason"]: r["n"] for r in session.sql(
        "select reason, count(*) as n from raw.quarantine group by 1").collect()}
    assert lake == reasons
