"""Fitted models kept in the warehouse, keyed by a fingerprint of what they were fitted on.

Training is the costly part of scoring (the churn classifier: two gradient-boosting fits,
~10 s at 10 M events), while its training rows change about once a week (a new feature
day's label completes). A run computes the fingerprint of the training rows in SQL (a
count and an order-free hash of every row, far cheaper than reading them); when a kept
model has the same fingerprint it scores with that model, else it trains and keeps the new
one. Training is deterministic, so reusing a model gives the scores a retrain would.

The models are pickled into `_userops.fitted_models` (one row per model name): the
warehouse is this pipeline's own store, the same trust as the tables beside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from orchestration.warehouse import Warehouse

TABLE = "_userops.fitted_models"
COLUMNS = {
    "name": "varchar", "fingerprint": "varchar", "trained_snapshot": "date",
    "fitted": "blob", "run_id": "varchar", "recorded_at": "timestamptz",
}


@dataclass(frozen=True)
class Kept:
    fitted: Any  # whatever was saved: e.g. (run record, model)
    trained_snapshot: dt.date


def rows_fingerprint(warehouse: Warehouse, relation: str, columns: Sequence[str], where: str,
                     settings: dict[str, Any]) -> str:
    """A fingerprint of the rows of `relation` that match `where` (their `columns`) and of
    `settings`. Row order does not matter, nor the last bits of a double
    (Warehouse.fingerprint)."""
    count, digest = warehouse.fingerprint(relation, columns, where)
    text = json.dumps({"rows": count, "hash": digest, "columns": list(columns),
                       "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load(warehouse: Warehouse, name: str, fingerprint: str) -> Kept | None:
    """The model kept under `name` if it was fitted on rows with this fingerprint."""
    if not warehouse.exists(TABLE):
        return None
    row = warehouse.row(f"select fitted, trained_snapshot from {TABLE} "
                        "where name = ? and fingerprint = ?", [name, fingerprint])
    if row is None:
        return None
    return Kept(pickle.loads(row[0]), row[1])


def save(warehouse: Warehouse, name: str, fingerprint: str, fitted: Any,
         trained_snapshot: dt.date, run_id: str) -> None:
    """Keep `fitted` under `name`, replacing the model kept before."""
    frame = pd.DataFrame([{
        "name": name, "fingerprint": fingerprint, "trained_snapshot": trained_snapshot,
        "fitted": pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL), "run_id": run_id,
        "recorded_at": pd.Timestamp.now(tz="UTC")}])
    warehouse.upsert(TABLE, frame, keys=("name",), columns=COLUMNS)
