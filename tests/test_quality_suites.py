"""Great Expectations suites: what a failure reports, and that a blocking failure keeps
wrong numbers from being published."""

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from data_quality import suites
from orchestration.publish import SERVING_FILE
from orchestration.runner import RunError
from tests.conftest import SMALL, make_settings, run


def test_failures_name_expectation_column_and_examples():
    frame = pd.DataFrame({
        "activity_date": ["d1", "d1", "d2"], "breakdown": ["all"] * 3,
        "breakdown_value": ["all"] * 3,
        "dau": [5, 3, 9], "wau": [4, 8, 9], "mau": [10, 10, 9], "stickiness": [0.5, 0.3, 1.5],
    })
    result = suites.run_suite(suites.SUITES["fct_active_users_daily"], frame)
    assert not result.success
    by = {(f.expectation, f.column): f for f in result.failures}
    wau = by[("ExpectColumnPairValuesAToBeGreaterThanB", "wau, dau")]
    assert (wau.unexpected_count, wau.examples) == (1, [[4, 5]])
    assert by[("ExpectColumnValuesToBeBetween", "stickiness")].examples == [1.5]
    dup = by[("ExpectCompoundColumnsToBeUnique", "activity_date, breakdown, breakdown_value")]
    assert dup.unexpected_count == 2
    assert ("ExpectColumnPairValuesAToBeGreaterThanB", "mau, wau") not in by


def test_nan_probability_and_missing_column_fail():
    frame = pd.DataFrame({"user_id": ["a", "b"], "churn_probability": [0.2, float("nan")],
                          "risk_band": ["low", "sometimes"]})
    result = suites.run_suite(suites.SUITES["user_churn_scores"], frame)
    failed = {(f.expectation, f.column) for f in result.failures}
    assert ("ExpectColumnValuesToNotBeNull", "churn_probability") in failed
    assert ("ExpectColumnValuesToBeInSet", "risk_band") in failed
    clv = suites.run_suite(suites.SUITES["user_clv"], frame)
    assert any("column missing" in str(f.examples) for f in clv.failures)


def test_every_raw_entity_and_published_score_has_a_suite():
    names = set(suites.SUITES)
    assert {"raw_events", "raw_users", "raw_orders"} <= names
    assert {"user_rfm", "user_clv", "user_churn_scores", "fct_active_users_daily",
            "fct_retention_cohorts", "retention_cohort_sizes"} <= names


def test_a_blocking_failure_stops_the_publish(tmp_path, small_landing, monkeypatch):
    impossible = suites.Expect("ExpectColumnValuesToBeBetween",
                               {"column": "dau", "min_value": 0, "max_value": 0})
    suite = suites.SUITES["fct_active_users_daily"]
    monkeypatch.setitem(suites.SUITES, suite.name, dataclasses.replace(
        suite, expectations=(*suite.expectations, impossible)))
    settings = make_settings(tmp_path, small_landing)
    with pytest.raises(RunError, match=r"gx_fct_active_users_daily failed .*dau"):
        run(settings, SMALL.start, SMALL.start + dt.timedelta(days=6))
    assert not (settings.serving / SERVING_FILE).exists()


@pytest.mark.parametrize("rows, expected", [(30, 30), (500, 100)])
def test_window_suite_reads_the_rebuilt_days_and_samples_a_large_window(monkeypatch, rows,
                                                                         expected):
    import duckdb

    monkeypatch.setattr(suites, "MAX_ROWS", 100)
    con = duckdb.connect()
    con.execute("create schema marts; create schema _userops")
    con.execute("create table _userops.run_window as select date '2025-01-10' as window_start")
    con.execute(f"""create table marts.fct_user_engagement_daily as
        select date '2025-01-10' - cast(i % 20 as integer) as activity_date, i as user_id
        from range({rows * 2}) t(i)""")  # half the rows fall before the window less lookback
    suite = suites.SUITES["fct_user_engagement_daily"]
    sql, params = suites.suite_query(suite, "run", lookback_days=9)
    frame = con.execute(sql, params).df()
    assert len(frame) == expected
    assert (pd.to_datetime(frame["activity_date"]) >= pd.Timestamp("2025-01-01")).all()
    again = con.execute(sql, params).df()  # the same sample every time
    assert frame["user_id"].tolist() == again["user_id"].tolist()
