"""The published marts of two runs compared row by row (floats to 1e-9, times as UTC):
the same pipeline on another engine, or the same events landed in another shape."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.serving import SERVING_FILE

# recorded per run, not computed from the data
NOT_COMPARED = {"run_id", "recorded_at"}


def marts(serving: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by 1").fetchall()]
        return {n: con.execute(f"select * from marts.{n}").df() for n in names}
    finally:
        con.close()


def types(serving: Path) -> dict[str, dict[str, str]]:
    con = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        rows = con.execute("select table_name, column_name, data_type from "
                           "information_schema.columns where table_schema = 'marts'").fetchall()
    finally:
        con.close()
    types: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        types.setdefault(table, {})[column] = kind
    return types


def _cell(value) -> object:
    """A value comparable across engines: floats to 1e-9, times as naive UTC text."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        return round(value, 9) + 0.0
    if isinstance(value, pd.Timestamp):
        return (value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value).isoformat()
    return value.item() if hasattr(value, "item") else value


def _rows(frame: pd.DataFrame) -> list[tuple]:
    columns = sorted(c for c in frame.columns if c not in NOT_COMPARED)
    rows = [tuple(_cell(v) for v in row) for row in frame[columns].itertuples(index=False)]
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def assert_same_marts(duck: Path, spark: Path, what: str,
                      skip: frozenset[str] = frozenset()) -> None:
    """Every mart of the serving folder `spark` equals its namesake of `duck` (but those
    in `skip`)."""
    a, b = marts(duck), marts(spark)
    assert set(a) == set(b), what
    for table in sorted(set(a) - skip):
        assert set(a[table].columns) == set(b[table].columns), f"{what}: {table}"
        assert _rows(a[table]) == _rows(b[table]), f"{what}: {table}"
