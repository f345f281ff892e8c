"""The publish asset: after every mart is built and checked, hand BI a new serving copy."""

import datetime as dt
import os

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, ResourceParam, asset

from orchestration.actions_export import publish_worklist
from orchestration.assets.report import pending_dir
from orchestration.catch_up import record_publish
from orchestration.dbt.helpers import RUN_WINDOW_TABLE
from orchestration.history import prune_history
from orchestration.resources import WAREHOUSE_POOL
from orchestration.serving import SALT_ENV, Privacy, publish
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

PUBLISH_KEY = AssetKey(["serving", "published_marts"])


def build_publish_asset(settings: Settings, mart_keys: list[AssetKey]):
    """`mart_keys`: every asset the publish waits for (the marts and the report)."""
    privacy_cfg = settings.config.privacy

    @asset(
        key=PUBLISH_KEY,
        deps=mart_keys,
        group_name="serving",
        kinds={"parquet", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=(
            "Every marts table as Parquet under paths.serving/runs/<stamp>/ and the serving "
            "DuckDB file paths.serving/serving.duckdb (views over them), swapped in atomically. "
            "Point BI tools here, never at the live warehouse."
        ),
    )
    def published_marts(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        privacy = Privacy(
            personal_attributes=tuple(privacy_cfg.personal_attributes),
            mode=privacy_cfg.mode,
            salt=os.environ.get(SALT_ENV),
        )
        # sortable and unique: the folder names order the publishes
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + context.run_id[:8]
        result = publish(warehouse, settings.serving, stamp, privacy,
                         extras=pending_dir(settings, context.run_id))
        context.log.info("published %d tables to %s", len(result.rows), result.serving_file)
        start, end, full_build = warehouse.row(
            f"select window_start, window_end, full_build from {RUN_WINDOW_TABLE}")
        with warehouse.store.connect() as con:  # the days a catching-up run need not build again
            record_publish(con, context.run_id, start, end, bool(full_build))
        worklist = []
        if "user_actions" in result.rows:  # the day's worklist for the sending tools
            worklist = publish_worklist(warehouse.query, settings.serving)
        pruned = prune_history(context.instance, settings.serving,
                               settings.config.schedule.keep_history_days,
                               dt.datetime.now(dt.UTC))
        return MaterializeResult(metadata={
            "serving_file": str(result.serving_file),
            "parquet_dir": str(result.run_dir),
            "stamp": stamp,
            "tables": len(result.rows),
            "worklist": ", ".join(str(p) for p in worklist),
            **{f"pruned_{k}": v for k, v in pruned.items()},
            **{f"rows_{k}": v for k, v in result.rows.items()},
        })

    return published_marts
