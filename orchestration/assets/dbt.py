"""dbt models as Dagster assets: daily-partitioned models and the rest, apart."""

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec, BackfillPolicy, Config
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.dbt_helpers import build_args, window_from_time_window, write_run_window
from orchestration.dbt_project import TARGET_DIR
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.settings import Settings

DAILY_SELECT = "tag:daily"
# models that read the Python scores (dim_users): a third step, after the scoring assets
SCORED_SELECT = "tag:scored"


class UseropsTranslator(DagsterDbtTranslator):
    """Groups by layer (staging, intermediate, marts); sources keep the keys
    [source, table] that the landing asset produces (raw/events, ...)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "model":
            return spec.replace_attributes(group_name=props["fqn"][1])
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=AssetKey([props["source_name"], props["name"]]))
        return spec


TRANSLATOR = UseropsTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtRunConfig(Config):
    full_refresh: bool = False


def build_dbt_assets(settings: Settings, manifest, partitions_def):
    dbt_vars = settings.config.dbt_vars()

    @dbt_assets(
        manifest=manifest,
        select=DAILY_SELECT,
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=TRANSLATOR,
        pool=WAREHOUSE_POOL,
        name="dbt_daily_models",
    )
    def dbt_daily_models(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtRunConfig,
    ):
        first, last = window_from_time_window(*context.partition_time_window)
        context.log.info(
            "building reporting days %s .. %s (full refresh: %s)", first, last, config.full_refresh
        )
        with warehouse.connect() as con:
            write_run_window(con, first, last, config.full_refresh)
        args = build_args(dbt_vars, config.full_refresh)
        yield from dbt.cli(args, context=context, target_path=TARGET_DIR).stream()

    @dbt_assets(
        manifest=manifest,
        select=SCORED_SELECT,
        dagster_dbt_translator=TRANSLATOR,
        pool=WAREHOUSE_POOL,
        name="dbt_scored_models",
    )
    def dbt_scored_models(
        context: AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig
    ):
        args = build_args(dbt_vars, config.full_refresh)
        yield from dbt.cli(args, context=context, target_path=TARGET_DIR).stream()

    @dbt_assets(
        manifest=manifest,
        exclude=f"{DAILY_SELECT} {SCORED_SELECT}",
        dagster_dbt_translator=TRANSLATOR,
        pool=WAREHOUSE_POOL,
        name="dbt_models",
    )
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig):
        args = build_args(dbt_vars, config.full_refresh)
        yield from dbt.cli(args, context=context, target_path=TARGET_DIR).stream()

    return dbt_daily_models, dbt_scored_models, dbt_models
