"""Great Expectations suites: what a failure reports, and that a blocking failure keeps
wrong numbers from being published."""

import dataclasses
import datetime as dt
import json

import duckdb
import pandas as pd
import pytest

from data_quality import suites
from orchestration.dbt.project import MANIFEST
from orchestration.runner import RunError
from orchestration.serving import SERVING_FILE
from orchestration.warehouse.duck import DuckDBWarehouse
from tests.conftest import SMALL, make_settings, run


def test_failures_name_expectation_column_and_examples():
    frame = pd.DataFrame({
        "user_id": ["a", "a", "b"], "r_score": [5, 3, 7], "f_score": [1, 2, 3],
        "m_score": [1, 1, 1], "rfm11_segment": ["x", None, "y"], "cn8_segment": ["p"] * 3,
    })
    result = suites.run_suite(suites.SUITES["user_rfm"], frame)
    assert not result.success
    by = {(f.expectation, f.column): f for f in result.failures}
    r = by[("ExpectColumnValuesToBeBetween", "r_score")]
    assert (r.unexpected_count, r.examples) == (1, [7])
    assert by[("ExpectColumnValuesToBeUnique", "user_id")].unexpected_count == 2
    assert by[("ExpectColumnValuesToNotBeNull", "rfm11_segment")].unexpected_count == 1
    assert ("ExpectColumnValuesToBeBetween", "f_score") not in by


def test_nan_probability_and_missing_column_fail():
    frame = pd.DataFrame({"user_id": ["a", "b"], "churn_probability": [0.2, float("nan")],
                          "risk_band": ["low", "sometimes"]})
    result = suites.run_suite(suites.SUITES["user_churn_scores"], frame)
    failed = {(f.expectation, f.column) for f in result.failures}
    assert ("ExpectColumnValuesToNotBeNull", "churn_probability") in failed
    assert ("ExpectColumnValuesToBeInSet", "risk_band") in failed
    clv = suites.run_suite(suites.SUITES["user_clv"], frame)
    assert any("column missing" in str(f.examples) for f in clv.failures)


def test_every_raw_entity_and_python_table_has_a_suite_and_no_dbt_model_does():
    """One quality system per table: Great Expectations for the raw tables and the tables
    Python writes, dbt tests (in the models' yml) for the dbt models; except the two
    worklists built from the scores, whose values a team acts on (both)."""
    names = set(suites.SUITES)
    assert {"raw_events", "raw_users", "raw_orders", "user_rfm", "user_clv",
            "user_churn_scores", "user_winback", "fct_experiment_readout", "fct_alerts",
            "fct_alert_episodes", "churn_model_calibration"} <= names
    manifest = json.loads(MANIFEST.read_text())
    dbt_models = {f"{n['schema']}.{n['name']}" for n in manifest["nodes"].values()
                  if n["resource_type"] == "model"}
    both = {s.table for s in suites.SUITES.values()} & dbt_models
    assert dbt_models and both == {"marts.user_actions", "marts.fct_churn_warnings"}


@pytest.mark.e2e
def test_a_blocking_failure_stops_the_publish(tmp_path, small_landing, monkeypatch):
    impossible = suites.Expect("ExpectColumnValuesToBeBetween",
                               {"column": "r_score", "min_value": 0, "max_value": 0})
    suite = suites.SUITES["user_rfm"]
    monkeypatch.setitem(suites.SUITES, suite.name, dataclasses.replace(
        suite, expectations=(*suite.expectations, impossible)))
    settings = make_settings(tmp_path, small_landing)
    with pytest.raises(RunError, match=r"gx_user_rfm: ExpectColumnValuesToBeBetween on r_score"):
        run(settings, SMALL.start, SMALL.start + dt.timedelta(days=6))
    assert not (settings.serving / SERVING_FILE).exists()


@pytest.mark.e2e
def test_a_failing_dbt_test_stops_the_publish(tmp_path, small_landing):
    """The dbt models' checks are dbt tests: one that fails stops the dbt step, so nothing
    after it runs and nothing is published. Made to fail by giving a landed event another
    event's id by hand, past the landing's own checks (its row counts still agree)."""
    settings = make_settings(tmp_path, small_landing)
    last = SMALL.start + dt.timedelta(days=6)
    run(settings, SMALL.start, last, models_only=True)
    con = duckdb.connect(str(settings.warehouse))
    con.execute("update landing.events set event_id = (select min(event_id) from "
                "landing.events) where event_id = (select max(event_id) from landing.events)")
    con.close()
    with pytest.raises(RunError, match=r"unique_stg_app__events_event_id"):
        run(settings, SMALL.start, last)
    assert not (settings.serving / SERVING_FILE).exists()


@pytest.mark.parametrize("rows, expected", [(30, 30), (500, 100)])
def test_raw_suites_read_the_runs_rows_and_sample_a_large_run(monkeypatch, tmp_path, rows,
                                                              expected):
    monkeypatch.setattr(suites, "MAX_ROWS", 100)
    con = duckdb.connect()
    con.execute("create schema raw")
    con.execute(f"""create table raw.events as
        select i as event_id, case when i % 2 = 0 then 'this' else 'earlier' end as run_id
        from range({rows * 2}) t(i)""")  # half the rows landed in an earlier run
    sample = DuckDBWarehouse(str(tmp_path / "w.duckdb"), "1GB").sample_sql
    sql, params = suites.suite_query(suites.SUITES["raw_events"], "this", sample)
    frame = con.execute(sql, params).df()
    assert len(frame) == expected and (frame["run_id"] == "this").all()
    again = con.execute(sql, params).df()  # the same sample every time
    assert frame["event_id"].tolist() == again["event_id"].tolist()
