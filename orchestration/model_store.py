"""Fitted models kept in the warehouse, keyed by a fingerprint of what they were fitted on.

Training is the costly part of scoring (the churn classifier: two gradient-boosting fits,
~10 s at 10 M events), while its training rows change about once a week (a new feature
day's label completes). A run computes the fingerprint of the training rows in SQL (a
count and an order-free hash of every row, far cheaper than reading them); when a kept
model has the same fingerprint it scores with that model, else it trains and keeps the new
one. Training is deterministic, so reusing a model gives the scores a retrain would.

The models are pickled into `_userops.fitted_models` (one row per model name): the
warehouse is this pipeline's own file, the same trust as the tables beside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from orchestration.resources import upsert_rows

TABLE = "_userops.fitted_models"
COLUMNS = {
    "name": "varchar", "fingerprint": "varchar", "trained_snapshot": "date",
    "fitted": "blob", "run_id": "varchar", "recorded_at": "timestamptz",
}


@dataclass(frozen=True)
class Kept:
    fitted: Any  # whatever was saved: e.g. (run record, model)
    trained_snapshot: dt.date


def rows_fingerprint(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                     where: str, settings: dict[str, Any]) -> str:
    """A fingerprint of the rows of `relation` that match `where` (their `columns`) and of
    `settings`. Row order does not matter (bit_xor of row hashes, with the count); doubles
    are rounded to 1e-9 first, so a sum that differs in its last bit between a full
    refresh and a daily run does not force a retrain."""
    types = dict(con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema || '.' || table_name = ?", [relation]).fetchall())
    missing = [c for c in columns if c not in types]
    if missing:
        raise ValueError(f"{relation} has no columns {missing}")
    parts = ", ".join(f'round("{c}", 9)' if types[c] in ("DOUBLE", "FLOAT") else f'"{c}"'
                      for c in columns)
    count, digest = con.execute(
        f"select count(*), coalesce(bit_xor(hash({parts})), 0) from {relation} where {where}"
    ).fetchone()
    text = json.dumps({"rows": count, "hash": str(digest), "columns": list(columns),
                       "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema || '.' || table_name = ?", [TABLE]).fetchone()[0] > 0


def load(con: duckdb.DuckDBPyConnection, name: str, fingerprint: str) -> Kept | None:
    """The model kept under `name` if it was fitted on rows with this fingerprint."""
    if not _exists(con):
        return None
    row = con.execute(f"select fitted, trained_snapshot from {TABLE} "
                      "where name = ? and fingerprint = ?", [name, fingerprint]).fetchone()
    if row is None:
        return None
    return Kept(pickle.loads(row[0]), row[1])


def save(con: duckdb.DuckDBPyConnection, name: str, fingerprint: str, fitted: Any,
         trained_snapshot: dt.date, run_id: str) -> None:
    """Keep `fitted` under `name`, replacing the model kept before."""
    con.execute("create schema if not exists _userops")
    frame = pd.DataFrame([{
        "name": name, "fingerprint": fingerprint, "trained_snapshot": trained_snapshot,
        "fitted": pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL), "run_id": run_id,
        "recorded_at": pd.Timestamp.now(tz="UTC")}])
    upsert_rows(con, TABLE, frame, keys=("name",), columns=COLUMNS)
