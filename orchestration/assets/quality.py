"""Great Expectations suites (data_quality/suites.py) as Dagster asset checks.

Blocking suites stop everything downstream, the publish step included, when they fail:
the wrong number never reaches BI. Non-blocking ones warn. A failed check's metadata
names each failed expectation, its column, the count and a few offending values.
"""

import json

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from data_quality.suites import SUITES, Suite, run_suite, suite_query
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

# The asset a derived suite belongs to.
CROSS_CHECK_ASSETS = {"cohort_size_vs_new_users": AssetKey(["marts", "fct_retention_cohorts"])}


def _asset_key(suite: Suite) -> AssetKey:
    return CROSS_CHECK_ASSETS.get(suite.table) or AssetKey(suite.table.split("."))


def build_quality_checks(asset_keys: set[AssetKey], lookback_days: int):
    checks = []
    for suite in SUITES.values():
        key = _asset_key(suite)
        if key not in asset_keys:
            continue
        checks.append(_check(suite, key, lookback_days))
    return checks


def _check(suite: Suite, key: AssetKey, lookback_days: int):
    severity = AssetCheckSeverity.ERROR if suite.blocking else AssetCheckSeverity.WARN

    @asset_check(
        asset=key,
        name=f"gx_{suite.name}",
        blocking=suite.blocking,
        pool=WAREHOUSE_POOL,
        description=f"Great Expectations suite {suite.name}: "
        + "; ".join(f"{e.kind} ({e.column})" for e in suite.expectations),
    )
    def gx_check(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        try:
            sql, params = suite_query(suite, context.run.run_id, lookback_days)
            with warehouse.connect(read_only=True) as con:
                frame = con.execute(sql, params).df()
        except duckdb.CatalogException as exc:
            return AssetCheckResult(passed=False, severity=severity,
                                    metadata={"error": str(exc).splitlines()[0]})
        result = run_suite(suite, frame)
        failures = [
            {"expectation": f.expectation, "column": f.column,
             "unexpected_count": f.unexpected_count, "examples": f.examples}
            for f in result.failures
        ]
        if failures:
            context.log.warning("%s failed: %s", suite.name, json.dumps(failures, default=str))
        return AssetCheckResult(
            passed=result.success,
            severity=severity,
            metadata={
                "rows": result.rows,
                "expectations": result.evaluated,
                "failed": len(failures),
                "failures": json.dumps(failures, default=str),
                **({"first_failure": f"{failures[0]['expectation']} on "
                    f"{failures[0]['column']}: {failures[0]['examples']}"} if failures else {}),
            },
        )

    return gx_check
