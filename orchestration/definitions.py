"""All Dagster definitions, assembled in one place.

`dagster dev` (workspace.yaml) loads `defs` from here with settings taken from
the environment; the CLI calls `build_definitions` with its own settings.
"""

from __future__ import annotations

import os

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    build_schedule_from_partitioned_job,
    define_asset_job,
    definitions,
)
from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import build_dbt_assets
from orchestration.assets.engagement import build_engagement_assets
from orchestration.assets.landing import build_landing_asset
from orchestration.assets.publish import build_publish_asset
from orchestration.assets.quality import build_quality_checks
from orchestration.assets.value import build_value_assets
from orchestration.dbt_project import (
    MANIFEST,
    apply_dbt_env,
    dbt_project,
    manifest_is_stale,
    prepare_manifest,
)
from orchestration.partitions import daily_partitions
from orchestration.resources import WarehouseResource
from orchestration.settings import Settings

DAILY_JOB = "daily_pipeline"


def build_definitions(settings: Settings) -> Definitions:
    apply_dbt_env(settings)
    if manifest_is_stale() or os.environ.get("DAGSTER_IS_DEV_CLI"):
        prepare_manifest(settings)
    partitions = daily_partitions(settings.config)
    landing = build_landing_asset(settings)
    dbt_daily, dbt_scored, dbt_rest = build_dbt_assets(settings, MANIFEST, partitions)
    python_assets, checks = build_engagement_assets(settings, partitions)
    value_assets = build_value_assets(settings)
    built = [dbt_rest, dbt_daily, dbt_scored, *python_assets, *value_assets]
    marts = sorted({k for a in built for k in a.keys if k.path[0] == "marts"}, key=str)
    publish = build_publish_asset(settings, marts)
    all_keys = {k for a in [landing, *built] for k in a.keys}
    gx_checks = build_quality_checks(all_keys)
    job = define_asset_job(DAILY_JOB, selection=AssetSelection.all(), partitions_def=partitions)
    sched = settings.config.schedule
    schedule = build_schedule_from_partitioned_job(
        job,
        hour_of_day=sched.minutes_after_midnight // 60,
        minute_of_hour=sched.minutes_after_midnight % 60,
        default_status=DefaultScheduleStatus.RUNNING
        if sched.enabled
        else DefaultScheduleStatus.STOPPED,
    )
    return Definitions(
        assets=[landing, *built, publish],
        asset_checks=[*checks, *gx_checks],
        jobs=[job],
        schedules=[schedule],
        resources={
            "dbt": DbtCliResource(project_dir=dbt_project()),
            "warehouse": WarehouseResource(path=str(settings.warehouse)),
        },
    )


@definitions
def defs() -> Definitions:
    """Loaded lazily by `dagster dev`, so importing this module costs nothing."""
    return build_definitions(Settings.from_env())
