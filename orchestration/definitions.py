"""All Dagster definitions, assembled in one place.

`dagster dev` (workspace.yaml) loads `defs` from here with settings taken from
the environment; the CLI calls `build_definitions` with its own settings.
"""

from __future__ import annotations

import os

from dagster import (
    AssetSelection,
    Definitions,
    define_asset_job,
    definitions,
    in_process_executor,
)

from orchestration.assets.alerts import build_alert_checks, build_alerts_asset
from orchestration.assets.coverage import no_missing_days
from orchestration.assets.experiments import build_experiment_assets
from orchestration.assets.landing import LANDING_OP, build_landing_asset
from orchestration.assets.loop import build_outcomes_asset
from orchestration.assets.publish import build_publish_asset
from orchestration.assets.quality import build_quality_checks
from orchestration.assets.report import REPORT_KEY, build_report_asset
from orchestration.assets.value import build_value_assets
from orchestration.dbt.assets import build_dbt_assets
from orchestration.dbt.project import (
    MANIFEST,
    dbt_resource,
    manifest_is_stale,
    prepare_manifest,
)
from orchestration.internals import check as check_framework_internals
from orchestration.progress import console_logger, progress_logger
from orchestration.resources import held_warehouse, warehouse_for
from orchestration.settings import Settings
from orchestration.window import build_daily_schedule

DAILY_JOB = "daily_pipeline"
__all__ = ["DAILY_JOB", "LANDING_OP", "build_definitions", "defs"]


def build_definitions(settings: Settings) -> Definitions:
    check_framework_internals()  # an upgrade that broke one fails here, naming it
    if manifest_is_stale() or os.environ.get("DAGSTER_IS_DEV_CLI"):
        prepare_manifest(settings)
    landing = build_landing_asset(settings)
    dbt_models, dbt_scored = build_dbt_assets(settings, MANIFEST)
    readout = build_experiment_assets(settings)
    checks = build_alert_checks(settings)
    value_assets = build_value_assets(settings)
    outcomes = build_outcomes_asset(settings)
    alerts = build_alerts_asset(settings)
    built = [dbt_models, dbt_scored, readout, *value_assets, outcomes, alerts]
    marts = sorted({k for a in built for k in a.keys if k.path[0] == "marts"}, key=str)
    report = build_report_asset(settings, marts)
    publish = build_publish_asset(settings, [*marts, REPORT_KEY])
    producers = {k: a.node_def.name for a in [landing, *built] for k in a.keys}
    gx_checks = build_quality_checks(producers)
    # In one process, as the CLI runs it: every step writes the one warehouse file, so
    # steps in processes of their own gain nothing, pay an import each, and race for the
    # file's lock between one step's end and the next one's start.
    job = define_asset_job(DAILY_JOB, selection=AssetSelection.all(),
                           executor_def=in_process_executor,
                           description="Land, build, score, check and publish the days of "
                           "the run window (orchestration/window.py).")
    schedule = build_daily_schedule(job, settings.config)
    return Definitions(
        assets=[landing, *built, report, publish],
        asset_checks=[*checks, *gx_checks, no_missing_days],
        jobs=[job],
        schedules=[schedule],
        resources={
            "dbt": dbt_resource(settings),
            "warehouse": held_warehouse(warehouse_for(settings)),
        },
        # records on stderr, and the CLI's progress display (idle elsewhere)
        loggers={"console": console_logger, "progress": progress_logger},
    )


@definitions
def defs() -> Definitions:
    """Loaded lazily by `dagster dev`, so importing this module costs nothing."""
    return build_definitions(Settings.from_env())
