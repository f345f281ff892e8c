"""dbt's node results as Dagster events, through public APIs only.

A result (one model built, one test run) becomes an `Output` of the model's asset or an
`AssetCheckResult` of the test's check. Which asset or check a node is comes from our
translator (dagster-dbt's public DagsterDbtTranslator), so the keys are exactly those of
the `@dbt_assets` definitions. Pure functions: unit-tested without dbt or a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    Output,
)
from dagster_dbt import DagsterDbtTranslator

REFABLE = {"model", "seed", "snapshot"}
BUILT = {"success"}  # a model, seed or snapshot status that materialized it
TEST_PASSED = "pass"
TEST_WARNED = "warn"
TEST_NOT_RUN = {"skipped", "skip"}


@dataclass(frozen=True)
class NodeResult:
    """What dbt reports when a node finishes (its LogModelResult, LogTestResult, ...)."""

    unique_id: str
    status: str  # dbt's node status: success, error, pass, warn, fail, skipped
    execution_time: float = 0.0
    failures: int | None = None  # a test's failing rows
    invocation_id: str = ""


@dataclass(frozen=True)
class NodeKeys:
    """The project's nodes as Dagster sees them: a refable node's asset key, a test's check
    key (a test on one model or source; a singular test over several has none), and each
    node's dbt selector."""

    assets: Mapping[str, AssetKey]
    checks: Mapping[str, AssetCheckKey]
    selectors: Mapping[str, str]

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any],
                      translator: DagsterDbtTranslator) -> NodeKeys:
        assets: dict[str, AssetKey] = {}
        checks: dict[str, AssetCheckKey] = {}
        selectors: dict[str, str] = {}
        every = {**manifest["nodes"], **manifest["sources"]}
        for uid, props in every.items():
            selectors[uid] = "fqn:" + ".".join(props["fqn"])
            if props["resource_type"] in REFABLE | {"source"}:
                assets[uid] = translator.get_asset_spec(manifest, uid, None).key
        for uid, props in manifest["nodes"].items():
            if props["resource_type"] != "test":
                continue
            attached = props.get("attached_node") or _singular_test_target(props, every)
            if attached not in assets:
                continue
            spec = translator.get_asset_check_spec(
                translator.get_asset_spec(manifest, attached, None), manifest, uid, None)
            if spec is not None:
                checks[uid] = spec.key
        return cls(assets, checks, selectors)

    def selection(self, asset_keys: Iterable[AssetKey],
                  check_keys: Iterable[AssetCheckKey]) -> list[str]:
        """The `--select` of exactly these assets and checks (indirect selection off)."""
        wanted_assets, wanted_checks = set(asset_keys), set(check_keys)
        chosen = [uid for uid, key in self.assets.items() if key in wanted_assets]
        chosen += [uid for uid, key in self.checks.items() if key in wanted_checks]
        return ["--select", *sorted(self.selectors[uid] for uid in chosen),
                "--indirect-selection", "empty"]


def _singular_test_target(test: Mapping[str, Any], every: Mapping[str, Any]) -> str | None:
    """A singular test's model: its one parent, or the one its `meta: dagster: ref` names
    (dagster-dbt's documented way to attach a test over several models)."""
    parents = test["depends_on"]["nodes"]
    if len(parents) == 1:
        return parents[0]
    meta = (test.get("config") or {}).get("meta") or test.get("meta") or {}
    name = meta.get("dagster", {}).get("ref", {}).get("name")
    return next((uid for uid in parents if every[uid].get("name") == name), None)


def _metadata(result: NodeResult) -> dict[str, Any]:
    return {"unique_id": result.unique_id, "invocation_id": result.invocation_id,
            "Execution Duration": round(result.execution_time, 3), "status": result.status}


def to_dagster_event(result: NodeResult, keys: NodeKeys,
                     output_names: Mapping[AssetKey, str],
                     selected_checks: AbstractSet[AssetCheckKey],
                     ) -> Output | AssetCheckResult | None:
    """The event of one finished node: an Output for a built model, seed or snapshot the
    step produces (`output_names`); an AssetCheckResult for a test whose check is selected.
    None for anything else (a failed model: dbt's error fails the step; a skipped test; a
    test of a check this step does not run)."""
    if result.unique_id in keys.checks:
        check = keys.checks[result.unique_id]
        if result.status in TEST_NOT_RUN or check not in selected_checks:
            return None
        metadata = _metadata(result)
        if result.failures is not None:
            metadata["failed_row_count"] = result.failures
        return AssetCheckResult(
            asset_key=check.asset_key, check_name=check.name,
            passed=result.status == TEST_PASSED, metadata=metadata,
            severity=(AssetCheckSeverity.WARN if result.status == TEST_WARNED
                      else AssetCheckSeverity.ERROR))
    key = keys.assets.get(result.unique_id)
    if key is None or key not in output_names or result.status not in BUILT:
        return None
    return Output(None, output_name=output_names[key], metadata=_metadata(result))
