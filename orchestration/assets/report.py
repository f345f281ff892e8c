"""The report asset: after the marts, before the publish, the day's page of charts."""

import json
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    DagsterEventType,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)

from orchestration.report.build import CHECKS_FILE, build_html
from orchestration.resources import WAREHOUSE_POOL
from orchestration.serving import REPORT_FILE
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

REPORT_KEY = AssetKey(["serving", "report"])


def pending_dir(settings: Settings, run_id: str) -> Path:
    """Where the report waits for the publish, which moves it into the run folder."""
    return settings.serving / "pending" / run_id


def run_checks(context: AssetExecutionContext) -> list[dict]:
    """The check results this run has recorded so far."""
    records = context.instance.get_records_for_run(
        context.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    checks = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        checks.append({
            "asset": "/".join(evaluation.asset_key.path),
            "check": evaluation.check_name,
            "passed": bool(evaluation.passed),
            "severity": evaluation.severity.value,
            "metadata": {k: getattr(v, "value", str(v))
                         for k, v in evaluation.metadata.items()
                         if isinstance(getattr(v, "value", None), int | float | str | bool)},
        })
    return checks


def build_report_asset(settings: Settings, mart_keys: list[AssetKey]):
    language, timezone = settings.config.report.language, settings.config.timezone

    @asset(
        key=REPORT_KEY,
        deps=mart_keys,
        group_name="serving",
        kinds={"html"},
        # it only reads, but a DuckDB file cannot be read while another process writes it
        pool=WAREHOUSE_POOL,
        description=(
            "The daily report: a self-contained HTML page of charts of the marts (active "
            "users, tiers, growth accounting, retention triangle, lifecycle, channels, "
            "funnel, revenue, RFM, churn and win-back; failed checks first). Published as "
            "report.html in the run folder and at paths.serving/report.html."
        ),
    )
    def report(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        tables = set(warehouse.relations("marts"))
        checks = run_checks(context)
        page = build_html(warehouse.query, tables, checks, language, timezone)
        folder = pending_dir(settings, context.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REPORT_FILE).write_text(page, encoding="utf-8")
        (folder / CHECKS_FILE).write_text(json.dumps(checks, indent=1, default=str))
        failed = sum(not c["passed"] for c in checks)
        context.log.info("report: %d KB, %d checks (%d failed)", len(page) // 1024,
                         len(checks), failed)
        return MaterializeResult(metadata={
            "path": MetadataValue.path(str(folder / REPORT_FILE)),
            "size_kb": len(page) // 1024, "checks": len(checks), "checks_failed": failed,
        })

    return report
