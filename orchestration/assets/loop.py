"""Closing the loop: the measured effect of each worklist action (models/loop.py)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, ResourceParam, asset

from models.loop import action_outcomes
from orchestration.model_settings import loop_settings
from orchestration.resources import WAREHOUSE_POOL
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

OUTCOMES_KEY = AssetKey(["marts", "fct_action_outcomes"])
OUTCOMES_TABLE = "marts.fct_action_outcomes"
UNITS_KEY = AssetKey(["intermediate", "int_action_units"])


def build_outcomes_asset(settings: Settings):
    loop = loop_settings(settings.config)

    @asset(
        key=OUTCOMES_KEY,
        deps=[UNITS_KEY],
        group_name="actions",
        kinds={"python"},
        pool=WAREHOUSE_POOL,
        description=(
            "Did it work? Per action key and outcome window (loop.outcome_days), overall, "
            "per week of the first contact and per channel: treated and holdout users whose "
            "window has elapsed, return, conversion and revenue per user in each group, the "
            "uplift (treatment - holdout) with a 95 % interval (Newcombe's hybrid score for "
            "the rates, Welch for revenue), incremental returns and revenue, cost, cost per "
            "incremental return, ROI, and a verdict."),
    )
    def fct_action_outcomes(context: AssetExecutionContext,
                            warehouse: ResourceParam[Warehouse]) -> MaterializeResult:
        units = warehouse.query("select * from intermediate.int_action_units")
        outcomes = action_outcomes(units, loop)
        warehouse.replace(OUTCOMES_TABLE, outcomes, dates=("cohort_week",))
        overall = outcomes[outcomes["cohort_week"].isna() & (outcomes["channel"] == "all")
                           & (outcomes["outcome_days"] == loop.outcome_days[0])]
        verdicts = {k: v for k, v in zip(overall["action_key"], overall["verdict"],
                                          strict=True)}
        context.log.info("action outcomes: %d units, verdicts %s", len(units), verdicts)
        return MaterializeResult(metadata={"units": len(units), "rows": len(outcomes),
                                           **{f"verdict {k}": v for k, v in verdicts.items()}})

    return fct_action_outcomes
