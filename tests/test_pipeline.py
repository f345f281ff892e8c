"""End to end through Dagster and dbt on generated data, against the pandas reference."""

import dataclasses
import datetime as dt
import json
import shutil

import pandas as pd
import pytest

from benchmarks.warning_recall import warned_shares
from orchestration.dbt.helpers import vars_arg
from orchestration.dbt.project import MANIFEST, dbt_resource, dbt_runs_dir
from orchestration.dbt.runner import NODE_RESULTS
from sample_data.generator import GeneratorParams
from tests.conftest import (
    SMALL,
    SMALL_FUNNEL,
    generated_landing,
    make_settings,
    overall,
    read_table,
    run,
)
from tests.reference import active_user_days, active_users_daily, funnel_counts, visits

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs


def test_sessions_match_reference(small_run, small_data):
    got = read_table(small_run.warehouse, "intermediate.int_sessions", "visit_id")
    ref = visits(small_data.events)
    assert len(got) == len(ref)
    assert got["is_bounced"].sum() == ref["is_bounced"].sum()
    assert got["is_engaged"].sum() == ref["is_engaged"].sum()
    assert got["events"].sum() == len(small_data.events)


def test_dbt_unit_tests_pass(small_run, tmp_path):
    """dbt's unit tests (fixed inputs, in the models' yml) run here; the pipeline's builds
    leave them out (dbt.helpers.build_args). On a copy of a built warehouse: dbt reads the
    column types of a unit test's inputs from their relations."""
    settings = dataclasses.replace(small_run, warehouse=tmp_path / small_run.warehouse.name)
    shutil.copyfile(small_run.warehouse, settings.warehouse)
    target = tmp_path / "target"
    invocation = dbt_resource(settings).invoke(
        ["test", "--select", "test_type:unit", *vars_arg(settings.config.dbt_vars())],
        target_path=target).wait()
    assert invocation.success
    results = json.loads((target / "run_results.json").read_text())["results"]
    declared = set(json.loads(MANIFEST.read_text())["unit_tests"])
    assert len(declared) >= 2
    assert {r["unique_id"] for r in results} == declared
    assert {r["status"] for r in results} == {"pass"}


def test_a_run_keeps_each_dbt_nodes_result_and_no_json_artifacts(small_run):
    """The pipeline's builds leave out dbt's manifest.json and run_results.json (written
    twice and once per invocation); node_results.json holds every node's result, and the
    file log stays at info (no SQL statements)."""
    (models,) = list(dbt_runs_dir(small_run).glob("*/dbt_models"))
    assert not (models / "manifest.json").exists()
    assert not (models / "run_results.json").exists()
    results = json.loads((models / NODE_RESULTS).read_text())
    built = {r["unique_id"] for r in results if r["status"] == "success"}
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    declared = json.loads(MANIFEST.read_text())["nodes"]
    unscored = {uid for uid, n in declared.items() if n["resource_type"] == "model"
                and "scored" not in n["config"]["tags"] and n["config"]["enabled"]}
    assert unscored <= built
    assert tests and all(r["status"] == "pass" and r["failures"] == 0 for r in tests)
    assert all(r["execution_time"] > 0 for r in results)
    log = (models / "dbt.log").read_text()
    assert "Finished running" in log and "create table" not in log.lower()


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


def test_late_events_within_the_lookback_count_on_their_day(tmp_path):
    params = GeneratorParams(users=60, days=5, seed=9)
    landing, days = generated_landing(tmp_path, params)
    settings = make_settings(tmp_path / "wh", landing, incremental={"lookback_days": 2})
    # the days so far in one run (day by day builds the same rows:
    # test_incremental_equality), then the next run's lookback meets the late file
    run(settings, days[0], days[-1], models_only=True)
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


# issue 12 on the generated sample: campaigns and churn warnings against the generator

def test_every_generated_campaign_with_its_reach_and_visits(small_run, small_data):
    got = read_table(small_run.warehouse, "marts.fct_campaign_quality", "campaign_id")
    ref = visits(small_data.events)
    ref = ref[ref["campaign_id"].notna()]
    assert sorted(got["campaign_id"]) == sorted(ref["campaign_id"].unique())
    want = ref.groupby("campaign_id").agg(
        reach_users=("user_id", "nunique"), visits=("visit_key", "size"),
        bounced_visits=("is_bounced", "sum"), engaged_visits=("is_engaged", "sum"),
        key_events=("key_events", "sum"))
    got = got.set_index("campaign_id")
    for column in want.columns:
        assert got[column].to_dict() == want[column].to_dict(), column
    # plausible: the generator bounces 15 % of visits; revenue from campaign visits is
    # part of the sample's paid revenue
    paid = small_data.orders[small_data.orders["status"] == "paid"]["amount"].sum()
    assert (got["revenue"] >= 0).all() and got["revenue"].sum() <= paid
    for share in ("active_7d_later_share", "active_30d_later_share"):
        assert got[share].dropna().between(0, 1).all()
    # costs: what the generator says each campaign cost up to the snapshot day
    snapshot = pd.Timestamp(got["snapshot_date"].iloc[0]).date()
    costs = small_data.campaign_costs[small_data.campaign_costs["date"] <= snapshot]
    spend = costs.groupby("campaign_id")["spend"].sum()
    assert got["spend"].dropna().to_dict() == spend.to_dict()
    for campaign, row in got[got["spend"].notna()].iterrows():
        assert row["cost_per_reached_user"] == pytest.approx(row["spend"] / row["reach_users"])
        assert row["roi"] == pytest.approx((row["revenue"] - row["spend"]) / row["spend"])
        engaged = ref[ref["is_engaged"] & (ref["campaign_id"] == campaign)]["user_id"].nunique()
        assert row["engaged_users"] == engaged


def test_churn_warnings_find_the_users_the_generator_made_churn(small_run, small_data):
    shares = warned_shares(small_run.warehouse, small_data.truth)
    assert shares["stopping_users"] >= 20 and shares["alive_users"] >= 20, shares
    assert shares["stopping_warned_share"] > 2 * shares["alive_warned_share"], shares


def test_a_configured_funnel_matches_the_reference_every_day(small_run, small_data):
    got = read_table(small_run.warehouse, "marts.fct_funnel_daily", "activity_date, step_number",
                     "funnel = 'discovery' and breakdown = 'all'")
    ref = funnel_counts(small_data.events, SMALL_FUNNEL["steps"],
                        dt.timedelta(hours=SMALL_FUNNEL["within_hours"]))
    rows = {(pd.Timestamp(d).date(), int(k)): int(n) for d, k, n in
            got[["activity_date", "step_number", "users"]].itertuples(index=False)}
    assert {key: n for key, n in rows.items() if n} == ref
    assert max(k for _, k in ref) == 3  # some users pass the whole funnel
    # breakdowns add up to the overall row
    by = read_table(small_run.warehouse, "marts.fct_funnel_daily", "activity_date",
                    "funnel = 'discovery' and breakdown = 'platform' and step_number = 1")
    assert by["users"].sum() == sum(n for (_, k), n in ref.items() if k == 1)
