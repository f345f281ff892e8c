"""The Dagster definitions, loaded and inspected without running anything (as
dagster-open-platform's test_defs): asset keys, groups, pools, checks, the job and the
schedule. Seconds, where a run takes tens."""

import json

import pytest
from dagster import AssetKey

from data_quality.suites import SUITES
from orchestration.dbt.project import MANIFEST
from orchestration.definitions import DAILY_JOB, build_definitions
from orchestration.resources import WAREHOUSE_POOL
from orchestration.window import MODELS_OP, SCORED_OP
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    root = tmp_path_factory.mktemp("defs")
    settings = make_settings(root, root / "landing", timezone="Asia/Shanghai",
                             schedule={"enabled": True, "minutes_after_midnight": 90})
    return build_definitions(settings)


@pytest.fixture(scope="module")
def manifest():
    return json.loads(MANIFEST.read_text())


def _by_op(defs) -> dict[str, object]:
    return {a.node_def.name: a for a in defs.assets if hasattr(a, "node_def")}


def test_every_dbt_model_is_an_asset_grouped_by_its_layer(defs, manifest):
    keys = {k for a in defs.assets if hasattr(a, "keys") for k in a.keys}
    specs = {s.key: s for a in defs.assets if hasattr(a, "specs") for s in a.specs}
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 30
    for node in models:
        key = AssetKey([node["schema"], node["name"]])
        assert key in keys, key
        assert specs[key].group_name == node["fqn"][1], key  # staging, intermediate, marts


def test_scored_models_run_after_the_scores_in_their_own_step(defs, manifest):
    ops = _by_op(defs)
    scored = {AssetKey([n["schema"], n["name"]]) for n in manifest["nodes"].values()
              if "scored" in n["tags"]}
    assert scored == set(ops[SCORED_OP].keys)
    assert not scored & set(ops[MODELS_OP].keys)
    winback = next(a for a in defs.assets if AssetKey(["marts", "user_winback"]) in a.keys)
    upstream = {d for deps in winback.asset_deps.values() for d in deps}
    assert AssetKey(["intermediate", "int_winback_candidates"]) in upstream


def test_every_asset_that_writes_the_warehouse_is_in_its_pool(defs):
    for op_name, a in _by_op(defs).items():
        assert a.node_def.pool == WAREHOUSE_POOL, op_name


def test_checks_dbt_tests_and_suites_are_on_their_tables(defs, manifest):
    checks = {(k.asset_key, k.name) for a in defs.assets if hasattr(a, "check_keys")
              for k in a.check_keys}
    checks |= {(k.asset_key, k.name) for c in defs.asset_checks for k in c.check_keys}
    for suite in SUITES.values():
        assert (AssetKey(suite.table.split(".")), f"gx_{suite.name}") in checks, suite.name
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    names = {name for _, name in checks}
    assert tests and all(t["name"] in names for t in tests)
    assert (AssetKey(["marts", "fct_retention_cohorts"]),
            "assert_cohort_sizes_equal_new_users") in checks
    assert (AssetKey(["marts", "fct_engagement_trend"]), "latest_day_not_anomalous") in checks


def test_one_job_and_a_schedule_in_the_reporting_time_zone(defs):
    job = defs.resolve_job_def(DAILY_JOB)
    assert job is not None
    [schedule] = list(defs.schedules)
    assert schedule.cron_schedule == "30 1 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status.value == "RUNNING"
