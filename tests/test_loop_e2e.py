"""Closing the loop end to end: bad contacts each with a reason and a count, the SQL
assignment equal to models/loop.py's, and on the generated sample (whose simulated team
has known effects) every action's interval holding its true effect."""

import datetime as dt
import math
import shutil

import duckdb
import pandas as pd
import pytest

from models.loop import action_id, assignment
from orchestration.cli import main
from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, make_settings, read_table, run

HEADER = "contact_id,user_id,action_key,channel,sent_time,assignment,status,cost"


def _counts(warehouse, sql: str) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(con.execute(sql).fetchall())
    finally:
        con.close()


@pytest.mark.e2e
def test_bad_contacts_each_have_a_reason_and_a_count(tmp_path, small_landing):
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    users = pd.read_csv(landing / "users" / "users.csv")
    ordered = users.sort_values("signup_time")
    late = ordered.iloc[len(ordered) // 2]  # signed up mid-month
    who = late["user_id"]
    before = (pd.Timestamp(late["signup_time"]) - pd.Timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    after = "2025-01-30T10:00:00Z"
    good = len(pd.read_csv(landing / "contacts" / "contacts.csv"))
    rows = [
        f"x1,nobody,lifecycle:churned,sms,{after},treatment,delivered,0.05",  # unknown_user
        f"x2,{who},nope:nothing,sms,{after},treatment,delivered,0.05",  # unknown_action
        f"x3,{who},lifecycle:churned,sms,{before},treatment,delivered,0.05",  # before signup
        f"x4,{who},churn_risk:high,coupon,{after},holdout,delivered,0.5",  # holdout contacted
        f"x4,{who},churn_risk:high,coupon,{after},holdout,delivered,0.5",  # duplicate id
        f"x5,{who},churn_risk:high,coupon,{after},maybe,delivered,",  # unknown assignment
        f"x6,{who},churn_risk:churned,push,{after},treatment,sent,",  # sound, cost unknown
    ]
    (landing / "contacts" / "bad.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    # the bad rows are most of a small file: judged here, not refused
    settings = make_settings(tmp_path, landing, quality={"max_bad_row_rate": 1.0})
    last = dt.date(2025, 1, 30)
    for _ in range(2):  # a rerun counts nothing twice
        run(settings, dt.date(2025, 1, 1), last, models_only=True)
        quarantined = _counts(settings.warehouse, "select reason, count(*) from raw.quarantine "
                              "where entity = 'contacts' group by 1")
        assert quarantined == {"duplicate_key": 1, "unknown_status": 1}
        issues = _counts(settings.warehouse, "select issue, contact_rows from "
                         "marts.fct_contact_issues")
        assert issues == {"ok": good + 1, "unknown_user": 1, "unknown_action": 1,
                          "sent_before_action_existed": 1, "holdout_contacted": 1}
        # nothing lost: every landed contact row is staged or quarantined, once
        staged = _counts(settings.warehouse, "select 'n', count(*) from raw.contacts")["n"]
        assert staged + sum(quarantined.values()) == good + len(rows)
    units = read_table(settings.warehouse, "intermediate.int_action_units", "action_key",
                       f"user_id = '{who}'")
    assert units[["action_key", "assignment", "contacted"]].values.tolist() == [
        ["churn_risk:churned", "treatment", True], ["churn_risk:high", "holdout", True]]
    x6 = units[units["action_key"] == "churn_risk:churned"].iloc[0]
    assert x6["cost"] == 0 and x6["first_contact_date"] == pd.Timestamp(2025, 1, 30)
    assert not x6["window_complete_14"]  # day +14 is after the last built day


@pytest.mark.e2e
def test_the_worklist_assigns_as_models_loop_does(small_run):
    actions = read_table(small_run.warehouse, "marts.user_actions", "queue_rank")
    assert len(actions) > 1000
    period = pd.Timestamp(actions["assignment_period"].iloc[0]).date()
    expected = [assignment(u, k, period, 0.1) for u, k in
                zip(actions["user_id"], actions["action_key"], strict=True)]
    assert actions["assignment"].tolist() == expected
    assert actions["action_id"].tolist() == [
        action_id(u, k, period) for u, k in zip(actions["user_id"], actions["action_key"],
                                                strict=True)]
    share = (actions["assignment"] == "holdout").mean()
    assert abs(share - 0.1) < 3 * math.sqrt(0.09 / len(actions))


@pytest.mark.e2e
def test_each_actions_interval_holds_its_true_effect(tmp_path, capsys):
    params = GeneratorParams(users=5000, days=120, seed=3)  # the demo's size
    landing, days = generated_landing(tmp_path, params)
    truth = pd.read_csv(landing / "_truth" / "action_effects.csv").set_index("action_key")
    settings = make_settings(tmp_path / "wh", landing)
    run(settings, days[0], days[-1])
    out = read_table(settings.warehouse, "marts.fct_action_outcomes", "action_key",
                     "cohort_week is null and channel = 'all' and outcome_days = 14"
                     ).set_index("action_key")
    assert set(out.index) == set(truth.index)
    for key, row in out.iterrows():
        true = truth.loc[key]
        assert row.return_uplift_low <= true.true_return_uplift <= row.return_uplift_high, key
        assert (row.conversion_uplift_low <= true.true_conversion_uplift
                <= row.conversion_uplift_high), key
        assert row.return_rate_holdout == 0  # dormant users do not come back by themselves
    assert out.loc["lifecycle:churned", "verdict"] == "works"
    assert out.loc["churn_risk:churned", "return_uplift_low"] <= 0 <= out.loc[
        "churn_risk:churned", "return_uplift_high"]
    # the worklist: measured actions carry their effect; the published file beside serving
    actions = read_table(settings.warehouse, "marts.user_actions", "queue_rank")
    measured = actions[actions["action_key"] == "lifecycle:churned"]
    assert (measured["measured_verdict"] == "works").all()
    assert (settings.serving / "actions" / f"actions_{days[-1]}.csv").exists()
    capsys.readouterr()
    out_file = tmp_path / "export.parquet"
    assert main(["export-actions", "--config", str(tmp_path / "wh" / "userops.yaml"),
                 "--out", str(out_file), "--limit", "500"]) == 0
    exported = pd.read_parquet(out_file)
    assert len(exported) == 500 and exported["queue_rank"].tolist() == list(range(1, 501))
    held = exported[exported["assignment"] == "holdout"]
    assert (~held["contact"]).all() and held["note"].str.startswith("holdout: do not").all()
    assert main(["export-actions", "--config", str(tmp_path / "wh" / "userops.yaml"),
                 "--out", str(out_file), "--date", "2020-01-01"]) == 2
    assert "holds the worklist of" in capsys.readouterr().err
