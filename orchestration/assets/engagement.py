"""Engagement: the experiment readout (Python, scipy) and the trend anomaly check."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    asset,
    asset_check,
)

from models.experiments import experiment_readout
from orchestration.dbt_helpers import read_built_through
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.settings import Settings

TREND_KEY = AssetKey(["marts", "fct_engagement_trend"])
READOUT_TABLE = "marts.fct_experiment_readout"
READOUT_DDL = f"""
create or replace table {READOUT_TABLE} (
    snapshot_date date, experiment_id varchar, variant varchar, is_control boolean,
    users bigint, mean_engagement double, std_engagement double, diff_to_control double,
    ci_low double, ci_high double, welch_df double, p_value double, confidence double
)"""


def build_engagement_assets(settings: Settings):
    exp = settings.config.experiments

    @asset(
        key=AssetKey(["marts", "fct_experiment_readout"]),
        deps=[AssetKey(["intermediate", "int_experiment_user_engagement"])],
        group_name="marts",
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=(
            "Per experiment and variant: users whose engagement window has fully elapsed, "
            "mean engagement index over the window, difference to control with a Welch interval."
        ),
    )
    def fct_experiment_readout(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as con:
            snapshot = read_built_through(con)
            users = con.execute(
                "select experiment_id, variant, engagement_index "
                "from intermediate.int_experiment_user_engagement where is_window_complete"
            ).df()
            readout = experiment_readout(users, exp.control_variant, exp.confidence)
            readout.insert(0, "snapshot_date", snapshot)
            con.execute("begin transaction")
            con.execute(READOUT_DDL)
            if len(readout):
                con.register("_readout", readout)
                con.execute(f"insert into {READOUT_TABLE} select * from _readout")
            con.execute("commit")
        context.log.info("experiment readout as of %s: %d rows", snapshot, len(readout))
        return MaterializeResult(
            metadata={
                "rows": len(readout),
                "snapshot_date": str(snapshot),
                "experiments": int(readout["experiment_id"].nunique()),
            }
        )

    @asset_check(
        asset=TREND_KEY,
        name="latest_day_not_anomalous",
        description=(
            "WARN when the latest day's engagement trend (campaign traffic excluded) has a "
            "robust z-score beyond the configured threshold."
        ),
    )
    def latest_day_not_anomalous(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            row = con.execute(
                "select activity_date, engagement_trend, trailing_median, robust_z, is_anomaly "
                "from marts.fct_engagement_trend order by activity_date desc limit 1"
            ).fetchone()
        if row is None:
            return AssetCheckResult(passed=True, metadata={"note": "no days yet"})
        day, value, median, z, anomalous = row
        return AssetCheckResult(
            passed=not anomalous,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "activity_date": str(day),
                "engagement_trend": int(value),
                "trailing_median": float(median) if median is not None else None,
                "robust_z": float(z) if z is not None else None,
                "threshold": settings.config.engagement.anomaly_z,
            },
        )

    return [fct_experiment_readout], [latest_day_not_anomalous]
