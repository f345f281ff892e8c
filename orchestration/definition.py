"""Definitions that never drift silently.

The incremental tables keep every day as it was built, so a setting that shapes them
(what counts as activity, the bounce rule, the session timeout, the time zone, tiers,
lifecycle and churn days, RFM sources, ...) must not change under them unnoticed: the
old days would keep the old meaning and the new ones get the new. Each run compares the
config's values of these settings with the ones the tables were built with
(`pipeline.definition` in the landing's DuckDB file). A change stops the run with one
line naming the keys, unless the run rebuilds every day (`--full-refresh`) or says to
keep the history as it is (`--accept-definition-change`); either way the change is
recorded in `marts.fct_definition_changes` (day, key, old and new value), which the
report marks on its charts.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd

from orchestration.config import UseropsConfig
from orchestration.warehouse import Warehouse

# dbt var -> the config key it comes from: every setting that the incremental models
# (and the macros they use) read. tests/test_definition.py keeps the list complete.
HISTORY: dict[str, str] = {
    "reporting_timezone": "timezone",
    "key_events": "activity.key_events",
    "passive_events": "activity.passive_events",
    "session_timeout_minutes": "activity.session_timeout_minutes",
    "bounce_min_events": "activity.bounce_min_events",
    "bounce_min_seconds": "activity.bounce_min_seconds",
    "activity_source": "activity.source",
    "page_view_event": "activity.page_view_event",
    "engagement_window_days": "engagement.window_days",
    "tier_high_min": "engagement.tier_high_min",
    "tier_mid_min": "engagement.tier_mid_min",
    "trend_window_days": "engagement.trend_window_days",
    "trend_min_history_days": "engagement.trend_min_history_days",
    "anomaly_z": "engagement.anomaly_z",
    "anomaly_min_change": "engagement.anomaly_min_change",
    "engagement_weights": "engagement.weights",
    "breakdown_attributes": "breakdowns.attributes",
    "breakdown_top_values": "breakdowns.top_values",
    "lifecycle_churn_days": "lifecycle.churn_days",
    "churn_horizon_days": "churn.horizon_days",
    "churn_snapshot_every_days": "churn.snapshot_every_days",
    "rfm_recency_event": "rfm.recency_event",
    "rfm_frequency_event": "rfm.frequency_event",
    "rfm_frequency_property": "rfm.frequency_property",
    "rfm_monetary_event": "rfm.monetary_event",
    "rfm_monetary_property": "rfm.monetary_property",
    # orders recorded as events feed the user-days through stg_app__orders
    "orders_event_event": "orders.from_events.event",
    "orders_event_order_id": "orders.from_events.order_id",
    "orders_event_amount": "orders.from_events.amount",
    "orders_event_currency": "orders.from_events.currency",
    "orders_event_status": "orders.from_events.status",
}
CHANGES_TABLE = "marts.fct_definition_changes"
CHANGE_COLUMNS = {"changed_on": "DATE", "setting": "VARCHAR", "old_value": "VARCHAR",
                  "new_value": "VARCHAR", "how": "VARCHAR", "run_id": "VARCHAR"}


class DefinitionChanged(RuntimeError):
    """The config changed a setting the stored history was built with."""


def definition(config: UseropsConfig) -> dict[str, object]:
    """The history-shaping settings, by config key."""
    values = config.dbt_vars()
    return {key: values[var] for var, key in sorted(HISTORY.items(), key=lambda kv: kv[1])}


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists pipeline")
    con.execute("create table if not exists pipeline.definition (settings varchar, "
                "recorded_at timestamptz, run_id varchar)")


def stored(con: duckdb.DuckDBPyConnection) -> dict[str, object] | None:
    """The settings the tables were built with, None before the first build."""
    _ensure(con)
    row = con.execute("select settings from pipeline.definition order by recorded_at desc "
                      "limit 1").fetchone()
    return None if row is None else json.loads(row[0])


def store(con: duckdb.DuckDBPyConnection, settings: dict[str, object], run_id: str) -> None:
    _ensure(con)
    con.execute("insert into pipeline.definition values (?, now(), ?)",
                [json.dumps(settings, sort_keys=True), run_id])


def changes(old: dict[str, object], new: dict[str, object]) -> list[tuple[str, object, object]]:
    """(key, old, new) per changed setting; a key new to the list counts as unchanged."""
    return [(k, old[k], v) for k, v in new.items() if k in old and old[k] != v]


def describe(diff: list[tuple[str, object, object]]) -> str:
    return ", ".join(f"{k} {json.dumps(a)} -> {json.dumps(b)}" for k, a, b in diff)


def refusal(diff: list[tuple[str, object, object]]) -> str:
    return (f"a setting that shapes the stored days changed: {describe(diff)}; run with "
            "--full-refresh to rebuild every day with it, or --accept-definition-change to "
            "keep the days built so far as they are (the change is recorded)")


def change_rows(diff: list[tuple[str, object, object]], day: dt.date, how: str,
                run_id: str) -> pd.DataFrame:
    return pd.DataFrame([{"changed_on": pd.Timestamp(day), "setting": k,
                          "old_value": json.dumps(a), "new_value": json.dumps(b), "how": how,
                          "run_id": run_id} for k, a, b in diff],
                        columns=list(CHANGE_COLUMNS))


def guard(warehouse: Warehouse, history: dict[str, object], full_refresh: bool,
          accept_change: bool, first: dt.date, run_id: str) -> str | None:
    """Before a run builds: raise DefinitionChanged when `history` (the config's settings)
    differs from the stored ones and the run neither rebuilds every day nor keeps the
    history on purpose; else record any change and store the settings. Returns the
    change, described, or None."""
    with warehouse.store.connect() as con:
        before = stored(con)
    diff = changes(before, history) if before is not None else []
    if diff and not (full_refresh or accept_change):
        raise DefinitionChanged(refusal(diff))
    if diff:
        how = "full refresh" if full_refresh else "history kept"
        warehouse.upsert(CHANGES_TABLE, change_rows(diff, first, how, run_id),
                         keys=("changed_on", "setting", "run_id"), columns=CHANGE_COLUMNS)
    if before != history:
        with warehouse.store.connect() as con:
            store(con, history, run_id)
    return f"{'full refresh' if full_refresh else 'history kept'}: {describe(diff)}" \
        if diff else None
