"""Great Expectations suites (data_quality/suites.py) as Dagster asset checks.

Blocking suites stop everything downstream, the publish step included, when they fail:
the wrong number never reaches BI. Non-blocking ones warn. A failed check's metadata
names each failed expectation, its column, the count and a few offending values.
"""

import json

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    ResourceParam,
    multi_asset_check,
)

from data_quality.suites import SUITES, Suite, run_suite, suite_query
from orchestration.resources import WAREHOUSE_POOL
from orchestration.warehouse import Warehouse


def _asset_key(suite: Suite) -> AssetKey:
    return AssetKey(suite.table.split("."))


def build_quality_checks(producers: dict[AssetKey, str]):
    """One check step per producing step (`producers`: asset key -> the op that builds it):
    the suites of the raw tables after the landing, those of the score tables after the
    step that scores them. Each suite stays its own check (gx_<suite>); a step per suite
    cost Dagster's bookkeeping of a step per suite."""
    groups: dict[str, list[tuple[Suite, AssetKey]]] = {}
    for suite in SUITES.values():
        key = _asset_key(suite)
        if key in producers:
            groups.setdefault(producers[key], []).append((suite, key))
    return [_checks(f"gx_after_{op}", members)
            for op, members in sorted(groups.items())]


def _check_name(suite: Suite) -> str:
    return f"gx_{suite.name}"


def _spec(suite: Suite, key: AssetKey) -> AssetCheckSpec:
    return AssetCheckSpec(
        name=_check_name(suite), asset=key, blocking=suite.blocking,
        description=f"Great Expectations suite {suite.name}: "
        + "; ".join(f"{e.kind} ({e.column})" for e in suite.expectations))


def _checks(name: str, members: list[tuple[Suite, AssetKey]]):
    by_check = {AssetCheckKey(key, _check_name(suite)): suite for suite, key in members}

    @multi_asset_check(name=name, specs=[_spec(s, k) for s, k in members], can_subset=True,
                       pool=WAREHOUSE_POOL)
    def gx_checks(context: AssetCheckExecutionContext, warehouse: ResourceParam[Warehouse]):
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            suite = by_check[check_key]
            yield _evaluate(context, warehouse, suite, check_key.asset_key)

    return gx_checks


def _evaluate(context: AssetCheckExecutionContext, warehouse: Warehouse, suite: Suite,
              key: AssetKey) -> AssetCheckResult:
    severity = AssetCheckSeverity.ERROR if suite.blocking else AssetCheckSeverity.WARN
    check = {"asset_key": key, "check_name": _check_name(suite), "severity": severity}
    if not warehouse.exists(suite.table):
        return AssetCheckResult(passed=False, **check,
                                metadata={"error": f"table {suite.table} does not exist"})
    sql, params = suite_query(suite, context.run.run_id, warehouse.sample_sql)
    frame = warehouse.query(sql, params)
    result = run_suite(suite, frame)
    failures = [
        {"expectation": f.expectation, "column": f.column,
         "unexpected_count": f.unexpected_count, "examples": f.examples}
        for f in result.failures
    ]
    if failures:
        # the check result carries it to the summary or the held-back block; the log, whole
        context.log.info("%s failed: %s", suite.name, json.dumps(failures, default=str))
    return AssetCheckResult(
        passed=result.success,
        **check,
        metadata={
            "rows": result.rows,
            "expectations": result.evaluated,
            "failed": len(failures),
            "failures": json.dumps(failures, default=str),
            **({"first_failure": f"{failures[0]['expectation']} on "
                f"{failures[0]['column']}: {failures[0]['examples']}"} if failures else {}),
        },
    )
