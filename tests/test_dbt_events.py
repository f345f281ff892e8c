"""dbt's node results become the Dagster events of the `@dbt_assets` definitions: the keys
come from the same translator, so every model is an output and every test a check."""

import json

from dagster import AssetCheckSeverity, AssetKey, Output
from dagster_dbt import dbt_assets

from orchestration.dbt.assets import SCORED_SELECT, TRANSLATOR
from orchestration.dbt.events import NodeKeys, NodeResult, to_dagster_event
from orchestration.dbt.project import MANIFEST, manifest_is_stale, prepare_manifest
from tests.conftest import make_settings


def _manifest(tmp_path) -> dict:
    if manifest_is_stale():
        prepare_manifest(make_settings(tmp_path, tmp_path / "landing"))
    return json.loads(MANIFEST.read_text())


def test_every_asset_and_check_of_the_definitions_has_its_dbt_node(tmp_path):
    manifest = _manifest(tmp_path)
    keys = NodeKeys.from_manifest(manifest, TRANSLATOR)

    @dbt_assets(manifest=manifest, exclude=SCORED_SELECT, dagster_dbt_translator=TRANSLATOR)
    def models(): ...

    assert set(models.keys) <= set(keys.assets.values())
    assert set(models.check_keys) <= set(keys.checks.values())
    assert len(models.check_keys) > 100  # the project's data tests, not a handful
    assert AssetKey(["marts", "fct_active_users_daily"]) in models.keys


def _keys() -> NodeKeys:
    model, test = "model.userops.m", "test.userops.not_null_m_id.abc"
    key = AssetKey(["marts", "m"])
    from dagster import AssetCheckKey
    return NodeKeys(assets={model: key}, checks={test: AssetCheckKey(key, "not_null_m_id")},
                    selectors={model: "fqn:userops.marts.m",
                               test: "fqn:userops.marts.not_null_m_id"})


def test_a_built_model_is_an_output_and_a_failed_one_is_nothing():
    keys, key = _keys(), AssetKey(["marts", "m"])
    built = to_dagster_event(NodeResult("model.userops.m", "success", 1.25, None, "inv"),
                             keys, {key: "marts__m"}, [])
    assert isinstance(built, Output) and built.output_name == "marts__m"
    assert built.metadata["Execution Duration"].value == 1.25
    assert to_dagster_event(NodeResult("model.userops.m", "error"), keys,
                            {key: "marts__m"}, []) is None
    # a model this step does not produce
    assert to_dagster_event(NodeResult("model.userops.m", "success"), keys, {}, []) is None


def test_a_test_is_a_check_result_with_dbts_verdict_and_severity():
    keys = _keys()
    check = next(iter(keys.checks.values()))
    uid = "test.userops.not_null_m_id.abc"
    passed = to_dagster_event(NodeResult(uid, "pass", failures=0), keys, {}, [check])
    failed = to_dagster_event(NodeResult(uid, "fail", failures=3), keys, {}, [check])
    warned = to_dagster_event(NodeResult(uid, "warn", failures=1), keys, {}, [check])
    assert passed.passed and not failed.passed and not warned.passed
    assert failed.severity == AssetCheckSeverity.ERROR
    assert warned.severity == AssetCheckSeverity.WARN
    assert failed.metadata["failed_row_count"].value == 3
    assert to_dagster_event(NodeResult(uid, "skipped"), keys, {}, [check]) is None
    assert to_dagster_event(NodeResult(uid, "pass"), keys, {}, []) is None  # not selected


def test_a_subset_selects_exactly_its_nodes():
    keys = _keys()
    check = next(iter(keys.checks.values()))
    assert keys.selection([AssetKey(["marts", "m"])], []) == [
        "--select", "fqn:userops.marts.m", "--indirect-selection", "empty"]
    assert keys.selection([], [check])[1] == "fqn:userops.marts.not_null_m_id"
