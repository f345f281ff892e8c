"""dbt models as Dagster assets: every model, then the ones that read the Python scores."""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MetadataValue,
    Output,
    ResourceParam,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from orchestration import definition
from orchestration.catch_up import catch_up_for
from orchestration.dbt.events import NodeKeys
from orchestration.dbt.helpers import build_args, write_run_window
from orchestration.dbt.project import dbt_runs_dir, keep_parse_state
from orchestration.dbt.runner import InProcessDbt
from orchestration.report.preview import SERIES, mart_preview
from orchestration.resources import WAREHOUSE_POOL
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse
from orchestration.window import (
    MODELS_OP,
    SCORED_OP,
    DailyRunConfig,
    DbtRunConfig,
    resolve_window,
)

# models that read the Python scores (dim_users): a second step, after the scoring assets
SCORED_SELECT = "tag:scored"
MODELS_SELECTION = ("--select", "fqn:*", "--exclude", SCORED_SELECT)
SCORED_SELECTION = ("--select", SCORED_SELECT)


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


def _with_preview(context: AssetExecutionContext, event: Output, warehouse: Warehouse) -> Output:
    """A key mart's output with a preview and a text chart in its metadata (Dagster UI).
    A preview that cannot be read is logged and left out: it never fails the run."""
    key = context.asset_key_for_output(event.output_name)
    if key.path[0] != "marts" or key.path[-1] not in SERIES:
        return event
    try:
        preview = mart_preview(warehouse.query, key.path[-1])
    except Exception as exc:  # noqa: BLE001 - a preview is never worth a failed run
        context.log.warning("no preview of %s: %s", key.to_user_string(), exc)
        return event
    return event.with_metadata({**event.metadata,
                                **{k: MetadataValue.md(v) for k, v in preview.items()}})


def dbt_target_path(settings: Settings, context: AssetExecutionContext) -> Path:
    """Each invocation's own target folder, kept with the run (node_results.json, logs):
    runs of other warehouses, in parallel tests too, never share one."""
    return dbt_runs_dir(settings) / context.run.run_id / context.op_def.name


def build_dbt_assets(settings: Settings, manifest_path: Path):
    manifest = json.loads(Path(manifest_path).read_text())
    keys = NodeKeys.from_manifest(manifest, TRANSLATOR)
    history = definition.definition(settings.config)

    dbt_vars = settings.config.dbt_vars()
    timezone = settings.config.timezone

    def invoke(context, dbt: InProcessDbt, full_refresh: bool, selection: tuple[str, ...],
               warehouse: Warehouse | None = None):
        target = dbt_target_path(settings, context)
        # dbt's own DBT_LOG_LEVEL_FILE, when set, decides the file log (debug: the SQL)
        file_log = None if os.environ.get("DBT_LOG_LEVEL_FILE") else "info"
        args = build_args(dbt_vars, full_refresh, file_log_level=file_log)
        for event in dbt.build(context, args, keys,
                               target_path=target, selection=selection):
            if warehouse is not None and isinstance(event, Output):
                event = _with_preview(context, event, warehouse)
            yield event
        keep_parse_state(settings, target)

    @dbt_assets(
        manifest=manifest,
        exclude=SCORED_SELECT,
        dagster_dbt_translator=TRANSLATOR,
        pool=WAREHOUSE_POOL,
        name=MODELS_OP,
    )
    def dbt_models(
        context: AssetExecutionContext,
        dbt: ResourceParam[InProcessDbt],
        warehouse: ResourceParam[Warehouse],
        config: DailyRunConfig,
    ):
        """Every model but the scored ones, in one dbt invocation (each costs seconds of
        start-up): the daily models rebuild the run window, the snapshots follow."""
        first, last = resolve_window(config, timezone)
        if config.catch_up:
            with warehouse.store.connect() as con:
                window = catch_up_for(con, settings.config, last)
            first, last = window.start, window.end
            context.log.info("catching up from %s: %s", first, window.reason)
            if window.remaining:
                context.log.warning(
                    "catching up %s .. %s (schedule.max_catch_up_days %d): %s .. %s are left "
                    "for the next run", first, last, settings.config.schedule.max_catch_up_days,
                    *window.remaining)
        context.log.info(
            "building reporting days %s .. %s (full refresh: %s)", first, last, config.full_refresh
        )
        try:
            changed = definition.guard(warehouse, history, config.full_refresh,
                                       config.accept_definition_change, first, context.run_id)
        except definition.DefinitionChanged as exc:
            raise Failure(description=str(exc)) from None
        if changed:
            context.log.warning("definition changed (%s)", changed)
        write_run_window(warehouse, first, last, config.full_refresh)
        yield from invoke(context, dbt, config.full_refresh, MODELS_SELECTION, warehouse)

    @dbt_assets(
        manifest=manifest,
        select=SCORED_SELECT,
        dagster_dbt_translator=TRANSLATOR,
        pool=WAREHOUSE_POOL,
        name=SCORED_OP,
    )
    def dbt_scored_models(
        context: AssetExecutionContext, dbt: ResourceParam[InProcessDbt], config: DbtRunConfig
    ):
        yield from invoke(context, dbt, config.full_refresh, SCORED_SELECTION)

    return dbt_models, dbt_scored_models
