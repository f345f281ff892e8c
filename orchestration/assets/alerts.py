"""Business alerts as Dagster asset checks: WARN when a number the operations team
watches moves out of its usual range. Today: the engagement trend's latest day."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    ResourceParam,
    asset_check,
)

from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

TREND_KEY = AssetKey(["marts", "fct_engagement_trend"])


def build_alert_checks(settings: Settings):
    @asset_check(
        asset=TREND_KEY,
        name="latest_day_not_anomalous",
        description=(
            "WARN when the latest day's engagement trend (campaign traffic excluded) has a "
            "robust z-score beyond the configured threshold."
        ),
    )
    def latest_day_not_anomalous(
        context: AssetCheckExecutionContext, warehouse: ResourceParam[Warehouse]
    ) -> AssetCheckResult:
        row = warehouse.row(
            "select activity_date, engagement_trend, trailing_median, robust_z, is_anomaly "
            "from marts.fct_engagement_trend order by activity_date desc limit 1")
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

    return [latest_day_not_anomalous]
