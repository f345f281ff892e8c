"""Small pure helpers for calling dbt, unit-tested on their own."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from orchestration.warehouse import Warehouse

RUN_WINDOW_TABLE = "_userops.run_window"


def vars_arg(dbt_vars: dict[str, Any]) -> list[str]:
    """`--vars` with a stable rendering: the same config always yields the same
    string, so dbt's partial parsing survives from one run to the next."""
    return ["--vars", json.dumps(dbt_vars, sort_keys=True, separators=(",", ":"))]


def build_args(dbt_vars: dict[str, Any], full_refresh: bool = False,
               file_log_level: str | None = "info") -> list[str]:
    """The pipeline's `dbt build`: models, seeds and data tests. dbt's unit tests check the
    SQL on fixed inputs, which no run changes; they run in the test suite, as dbt advises
    (tests/test_pipeline.py), not in every run (0.5-0.8 s a run).

    No JSON artifacts: dbt writes manifest.json twice and run_results.json once per
    invocation (about a second a run here); the runner keeps every node's result in
    node_results.json instead. The file log at `file_log_level`: `info` keeps each node's
    start and result, warnings and errors, and leaves out every SQL statement (`debug`,
    dbt's default, cost ~7 % of a small run's dbt step); None leaves it to dbt
    (DBT_LOG_LEVEL_FILE)."""
    args = ["build", *vars_arg(dbt_vars), "--exclude-resource-type", "unit_test",
            "--no-write-json"]
    if file_log_level is not None:
        args += ["--log-level-file", file_log_level]
    if full_refresh:
        args.append("--full-refresh")
    return args


def write_run_window(
    warehouse: Warehouse, first: dt.date, last: dt.date, full_refresh: bool = False
) -> dt.date:
    """Record the days this run builds, and `built_through`: the latest day the
    daily tables hold afterwards (a rerun of an old day keeps it; a full
    refresh, which drops later days, resets it). Snapshots are taken as of it. And
    `full_build`: a full refresh or a first run, which builds every day up to `last`; and
    `previous_built_through`, the `built_through` before this run (null on a full build)."""
    previous = read_built_through(warehouse) if warehouse.exists(RUN_WINDOW_TABLE) else None
    full_build = full_refresh or previous is None
    built_through = last if full_build else max(previous, last)
    # full_build: every day up to window_end is built (and tested), not the window alone;
    # previous_built_through: where the tables stood before this run (models whose rows
    # look past their own day rebuild from the earlier of it and the window)
    warehouse.replace(RUN_WINDOW_TABLE, pd.DataFrame({
        "window_start": [first], "window_end": [last], "built_through": [built_through],
        "full_build": [full_build],
        "previous_built_through": pd.Series([None if full_build else previous], dtype=object),
    }), dates=("window_start", "window_end", "built_through", "previous_built_through"))
    return built_through


def read_built_through(warehouse: Warehouse) -> dt.date:
    value = warehouse.scalar(f"select max(built_through) from {RUN_WINDOW_TABLE}")
    return value.date() if isinstance(value, dt.datetime) else value
