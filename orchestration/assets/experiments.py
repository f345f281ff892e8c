"""The experiment readout (models/experiments.py, scipy): engagement by variant with a
Welch interval against control."""

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, ResourceParam, asset

from models.experiments import READOUT_COLUMNS, experiment_readout
from orchestration.dbt.helpers import read_built_through
from orchestration.resources import WAREHOUSE_POOL, python_kinds
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

READOUT_TABLE = "marts.fct_experiment_readout"
# the table's types, so that it keeps them with no experiment landed
READOUT_TYPES = {"experiment_id": "str", "variant": "str", "is_control": "bool",
                 "users": "int64", **{c: "float64" for c in READOUT_COLUMNS[4:]}}


def build_experiment_assets(settings: Settings):
    exp = settings.config.experiments

    @asset(
        key=AssetKey(["marts", "fct_experiment_readout"]),
        deps=[AssetKey(["intermediate", "int_experiment_user_engagement"])],
        group_name="marts",
        kinds=python_kinds(settings),
        pool=WAREHOUSE_POOL,
        description=(
            "Per experiment and variant: users whose engagement window has fully elapsed, "
            "mean engagement index over the window, difference to control with a Welch interval."
        ),
    )
    def fct_experiment_readout(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        snapshot = read_built_through(warehouse)
        users = warehouse.query(
            "select experiment_id, variant, engagement_index "
            "from intermediate.int_experiment_user_engagement where is_window_complete")
        readout = experiment_readout(users, exp.control_variant, exp.confidence)
        readout = readout.astype(READOUT_TYPES)
        readout.insert(0, "snapshot_date", pd.Series([snapshot] * len(readout), dtype=object))
        warehouse.replace(READOUT_TABLE, readout)
        context.log.info("experiment readout as of %s: %d rows", snapshot, len(readout))
        return MaterializeResult(
            metadata={
                "rows": len(readout),
                "snapshot_date": str(snapshot),
                "experiments": int(readout["experiment_id"].nunique()),
            }
        )

    return fct_experiment_readout
