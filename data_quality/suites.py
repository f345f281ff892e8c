"""Great Expectations suites as code: one per raw entity (the contract) and one per
published table, and a runner that returns what failed with a few offending rows.

Suites are plain data (`Expect` specs) so that listing them costs nothing; Great
Expectations itself is imported only when a suite runs (the import takes seconds).
No Dagster here: orchestration/assets/quality.py turns these into asset checks.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from data_quality.contract import ENTITIES
from models.alerts import ALERTS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Expect:
    """One expectation: a GX expectation class name and its arguments."""

    kind: str
    kwargs: dict[str, Any]

    @property
    def column(self) -> str:
        kw = self.kwargs
        return kw.get("column") or ", ".join(
            kw.get("column_list") or [kw.get("column_A", ""), kw.get("column_B", "")])


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # schema.table in the warehouse
    expectations: tuple[Expect, ...]
    blocking: bool = True  # a failure means wrong numbers would be published
    # Which rows a run validates, so that its cost follows the run, not the history:
    # "all" (the per-user score tables, replaced whole every run); "run" = the rows this
    # run landed (raw tables; older rows were validated when they landed).
    scope: str = "all"


@dataclass
class Failure:
    expectation: str
    column: str
    unexpected_count: int | None
    examples: list[Any] = field(default_factory=list)


@dataclass
class SuiteResult:
    suite: str
    rows: int
    evaluated: int
    failures: list[Failure]

    @property
    def success(self) -> bool:
        return not self.failures


def unique(*cols: str) -> Expect:
    if len(cols) == 1:
        return Expect("ExpectColumnValuesToBeUnique", {"column": cols[0]})
    return Expect("ExpectCompoundColumnsToBeUnique", {"column_list": list(cols)})


def not_null(col: str) -> Expect:
    return Expect("ExpectColumnValuesToNotBeNull", {"column": col})


def between(col: str, low: float | None, high: float | None) -> Expect:
    # NaN is neither in nor out of a range for GX; not_null catches it (NaN is null)
    return Expect("ExpectColumnValuesToBeBetween",
                  {"column": col, "min_value": low, "max_value": high})


def rate(col: str) -> Expect:
    return between(col, 0, 1)


def in_set(col: str, values: list[str]) -> Expect:
    return Expect("ExpectColumnValuesToBeInSet", {"column": col, "value_set": values})


def _raw_suites() -> list[Suite]:
    suites = []
    for entity in ENTITIES.values():
        exps = [unique(*entity.key)]
        # an id that may be null when another column has a value (an event's user_id, a
        # visitor's event): landing quarantines a row with neither (null_id), and dbt
        # tests stg_app__events for it; GX's not-null has no "unless"
        exps += [not_null(c.name) for c in entity.columns if c.required and not c.unless]
        exps += [between(c.name, 0, None) for c in entity.columns if c.kind == "amount"]
        exps += [in_set(c.name, list(c.allowed)) for c in entity.columns if c.allowed]
        suites.append(Suite(f"raw_{entity.name}", f"raw.{entity.name}", tuple(exps),
                            scope="run"))
    return suites


def _score_suites() -> list[Suite]:
    """The tables Python writes (models/ via orchestration/assets/). The dbt
    models have their checks as dbt tests in their yml, one quality system per table;
    except the worklists built from the scores (user_actions, fct_churn_warnings): dbt
    tests their grain, these suites the values a team acts on."""
    m = "marts."
    return [
        Suite("user_rfm", m + "user_rfm", (
            unique("user_id"), between("r_score", 1, 5), between("f_score", 1, 5),
            between("m_score", 1, 5), not_null("rfm11_segment"), not_null("cn8_segment"))),
        Suite("user_clv", m + "user_clv", (
            unique("user_id"), not_null("p_alive"), rate("p_alive"),
            not_null("p_purchase_short"), rate("p_purchase_short"), rate("p_purchase_long"),
            not_null("clv_long"), between("expected_purchases_short", 0, None))),
        Suite("user_churn_scores", m + "user_churn_scores", (
            unique("user_id"), not_null("churn_probability"), rate("churn_probability"),
            rate("raw_probability"),
            in_set("risk_band", ["low", "medium", "high", "churned"]))),
        Suite("fct_experiment_readout", m + "fct_experiment_readout", (
            unique("experiment_id", "variant"), between("users", 0, None),
            rate("p_value"), rate("confidence"))),
        # a signal, not a blocker: many churned users is news, not a wrong number
        Suite("user_winback", m + "user_winback", (
            unique("user_id"), rate("p_return"), between("priority", 0, None)),
            blocking=False),
        Suite("user_actions", m + "user_actions", (
            not_null("user_id"), not_null("reason"),
            in_set("scheme", ["lifecycle", "churn_risk", "tier", "rfm11", "cn8", "special"]),
            between("priority", 1, 9), between("action_rank", 1, 20),
            between("expected_value", 0, None), rate("churn_probability"),
            in_set("value_kind", ["clv", "revenue_at_risk"]))),
        Suite("fct_churn_warnings", m + "fct_churn_warnings", (
            in_set("risk_band", ["low", "medium", "high", "churned"]),
            rate("churn_probability"), between("signals_fired", 0, 6),
            between("idle_days", 0, None), between("engagement_cur", 0, None),
            between("engagement_prev", 0, None))),
        Suite("churn_model_calibration", m + "churn_model_calibration", (
            unique("snapshot_date", "candidate", "bin"), between("bin", 1, 10),
            between("users", 0, None), rate("mean_predicted"), rate("observed_rate"))),
        # alerts are news about the product, not wrong numbers: never blocking here
        Suite("fct_alerts", m + "fct_alerts", (
            unique("alert_date", "alert", "subject"), not_null("message"),
            in_set("alert", list(ALERTS)),
            in_set("severity", ["warn", "block"])),
            blocking=False),
        Suite("fct_alert_episodes", m + "fct_alert_episodes", (
            unique("alert", "subject", "started"), in_set("alert", list(ALERTS)),
            in_set("state", ["open", "resolved"]), between("days_firing", 1, None),
            in_set("start_notify", ["pending", "sent", "failed", "too_old"]),
            in_set("resolve_notify", ["open", "pending", "sent", "failed", "too_old"])),
            blocking=False),
    ]


SUITES: dict[str, Suite] = {s.name: s for s in _raw_suites() + _score_suites()}


# rows of one run that a raw suite validates at most (10 M events: 45 s at 1 M)
MAX_ROWS = 200_000


def suite_query(suite: Suite, run_id: str,
                sample: Callable[[str, int], str]) -> tuple[str, list[Any]]:
    """The SQL (and its parameters) that selects the rows `suite` validates in a run.
    `sample(select, rows)` wraps a select into a fixed-seed sample of at most `rows` rows
    in the warehouse's dialect (Warehouse.sample_sql)."""
    if suite.scope == "run":
        # GX validates in pandas: a first landing of 100 M events would not fit in memory,
        # so a large run is validated on a fixed-seed sample of its rows. Every row passed
        # the same rules in the landing's own validation (data_quality/landing) already.
        return sample(f"select * from {suite.table} where run_id = ?", MAX_ROWS), [run_id]
    return f"select * from {suite.table}", []


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # noqa: PLC0415 - seconds to import: only when run

    return gx


def run_suite(suite: Suite, frame: pd.DataFrame, examples: int = 5) -> SuiteResult:
    """Validate `frame` against `suite` with Great Expectations (ephemeral context)."""
    present = set(frame.columns)
    missing = [e for e in suite.expectations
               if not set(e.column.split(", ")) <= present]
    failures = [Failure(e.kind, e.column, None, [f"column missing from {suite.table}"])
                for e in missing]
    todo = [e for e in suite.expectations if e not in missing]
    if frame.empty or not todo:
        return SuiteResult(suite.name, len(frame), len(todo), failures)
    gx = _gx()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batch = (context.data_sources.add_pandas("userops")
             .add_dataframe_asset(suite.name)
             .add_batch_definition_whole_dataframe("whole")
             .get_batch(batch_parameters={"dataframe": frame}))
    gx_suite = gx.ExpectationSuite(name=suite.name)
    specs = {}
    for e in todo:
        added = gx_suite.add_expectation(getattr(gx.expectations, e.kind)(**e.kwargs))
        specs[_identity(added.expectation_type, added.configuration.kwargs)] = e
    result = batch.validate(gx_suite, result_format={
        "result_format": "SUMMARY", "partial_unexpected_count": examples})
    for res in result.results:  # GX reorders results: match them by type and arguments
        cfg = res.expectation_config
        spec = specs[_identity(cfg.type, cfg.kwargs)]
        if not res.success:
            detail = res.result or {}
            rows = detail.get("partial_unexpected_list") or []
            failures.append(Failure(spec.kind, spec.column, detail.get("unexpected_count"),
                                    [_plain(v) for v in rows[:examples]]))
    if failures:
        log.warning("suite %s: %d of %d expectations failed", suite.name, len(failures),
                    len(suite.expectations))
    return SuiteResult(suite.name, len(frame), len(todo), failures)


def _identity(kind: str, kwargs: dict[str, Any]) -> str:
    keep = {k: kwargs.get(k) for k in ("column", "column_A", "column_B", "column_list",
                                       "min_value", "max_value", "value_set")}
    return f"{kind}|{json.dumps(keep, sort_keys=True, default=str)}"


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and pd.isna(value):
        return None
    return value if isinstance(value, int | float | str | bool) else str(value)
