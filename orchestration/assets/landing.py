"""The landing asset: landing files -> raw.* tables and raw.quarantine."""

import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    ResourceParam,
    multi_asset,
)

from data_quality.contract import ENTITIES
from data_quality.landing import LandingError, ValidationRules, sync_landing
from orchestration.resources import WAREHOUSE_POOL
from orchestration.settings import Settings, file_rules, landing_mappings
from orchestration.warehouse import Warehouse

RAW_KEYS = {name: AssetKey(["raw", name]) for name in [*ENTITIES, "quarantine"]}


LANDING_OP = "raw_landing"
FILES_CHECK = "landing_files_readable"


def build_landing_asset(settings: Settings):
    cfg = settings.config
    known = cfg.activity.known_events

    @multi_asset(
        name=LANDING_OP,
        specs=[
            AssetSpec(
                key,
                group_name="raw",
                kinds={cfg.warehouse.engine},
                description=f"Validated landing rows of {name}"
                if name != "quarantine"
                else "Rejected landing rows with reason, source file, row and run id",
            )
            for name, key in RAW_KEYS.items()
        ],
        check_specs=[AssetCheckSpec(
            FILES_CHECK, asset=RAW_KEYS["quarantine"], blocking=False,
            description="every landing file could be read (unreadable ones are listed in "
            "landing.unreadable_files, skipped, and read again when their content changes)")],
        pool=WAREHOUSE_POOL,
    )
    def raw_landing(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        rules = ValidationRules(
            now=dt.datetime.now(dt.UTC),
            future_tolerance=dt.timedelta(hours=cfg.quality.future_tolerance_hours),
            known_events=frozenset(known) if known is not None else None,
            earliest=dt.datetime.combine(cfg.quality.earliest_time, dt.time(), dt.UTC),
        )
        with warehouse.store.connect() as con:
            try:
                report = sync_landing(
                    con, settings.landing, rules, context.run_id, cfg.quality.max_bad_row_rate,
                    cfg.quality.min_rows_per_file, file_rules(cfg), landing_mappings(cfg),
                )
            except LandingError as exc:
                raise Failure(description=str(exc)) from None
            received = warehouse.receive_landing(con)
        if received:
            context.log.info(received)
        context.log.info(
            "landing %s: %d files loaded, %d unchanged; quarantined by reason: %s",
            settings.landing,
            len(report.files_loaded),
            report.files_unchanged,
            report.reasons,
        )
        for name, key in RAW_KEYS.items():
            if name == "quarantine":
                meta = {"rows": sum(report.rows_quarantined.values()), **report.reasons}
            else:
                meta = {
                    "rows": report.rows_staged.get(name, 0),
                    "quarantined": report.rows_quarantined.get(name, 0),
                    "read_this_run": report.rows_read.get(name, 0),
                }
            yield MaterializeResult(asset_key=key, metadata=meta)
        yield _files_check(report)

    return raw_landing


def _files_check(report) -> AssetCheckResult:
    """WARN when files were quarantined as files; deferred ones are only counted (they are
    read by the next run)."""
    bad = report.files_unreadable
    message = (f"{len(bad)} unreadable landing file(s) skipped: "
               + "; ".join(f"{source} ({reason})" for _, source, reason in bad[:3])
               + ("; ..." if len(bad) > 3 else "") + " (landing.unreadable_files)")
    return AssetCheckResult(
        asset_key=RAW_KEYS["quarantine"], check_name=FILES_CHECK, passed=not bad,
        severity=AssetCheckSeverity.WARN,
        metadata={"unreadable": len(bad), "deferred": len(report.files_deferred),
                  **({"message": message} if bad else {})})
