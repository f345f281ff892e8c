"""The day's worklist for the tools that send messages (docs/LOOP.md).

One row per user and action with its stable action_id, the action key, the suggested
channel, the reason and the assignment: a holdout row says plainly that the user must not
be contacted, and asks for it to be landed in contacts as withheld, so the comparison
has its control group. Written by `userops export-actions` and, after every publish, as
paths.serving/actions/actions_<day>.csv and .parquet.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ACTIONS_DIR = "actions"
HOLDOUT_NOTE = "holdout: do not contact; land it in contacts with status withheld"
COLUMNS = ("action_id", "snapshot_date", "user_id", "action_key", "scheme", "segment",
           "channel", "action", "reason", "priority", "queue_rank", "assignment",
           "contact", "note")


class ExportError(ValueError):
    """The export cannot be made as asked; the message says what to do."""


def worklist(query: Callable[..., pd.DataFrame], day: dt.date | None = None,
             scheme: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """The worklist of marts.user_actions in queue order; `day` must be its snapshot day
    (the table holds the latest day; the published files keep the earlier ones)."""
    held = query("select max(snapshot_date) as d from marts.user_actions")["d"].iloc[0]
    if pd.isna(held):
        raise ExportError("marts.user_actions is empty: nothing to export yet")
    held = pd.Timestamp(held).date()
    if day is not None and day != held:
        raise ExportError(f"user_actions holds the worklist of {held}, not {day}: export "
                          f"{held}, or read the published actions/actions_{day}.csv")
    where, params = "", []
    if scheme is not None:
        where, params = "where scheme = ?", [scheme]
    rows = query(f"select * from marts.user_actions {where} order by queue_rank"
                 + (f" limit {int(limit)}" if limit else ""), params)
    rows["snapshot_date"] = pd.to_datetime(rows["snapshot_date"]).dt.date
    rows["contact"] = rows["assignment"] == "treatment"
    rows["note"] = rows["assignment"].map({"holdout": HOLDOUT_NOTE}).fillna("")
    return rows.reindex(columns=list(COLUMNS))


def write_export(rows: pd.DataFrame, out: Path) -> Path:
    """As CSV or Parquet (by the suffix), swapped in whole."""
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ExportError(f"{out}: write .csv or .parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    if out.suffix.lower() == ".csv":
        rows.to_csv(partial, index=False)
    else:
        rows.to_parquet(partial, index=False)
    os.replace(partial, out)
    return out


def publish_worklist(query: Callable[..., pd.DataFrame], serving: Path) -> list[Path]:
    """The latest worklist as serving/actions/actions_<day>.csv and .parquet (none while
    it is empty)."""
    if query("select count(*) as n from marts.user_actions")["n"].iloc[0] == 0:
        return []
    rows = worklist(query)
    day = rows["snapshot_date"].iloc[0]
    folder = Path(serving) / ACTIONS_DIR
    return [write_export(rows, folder / f"actions_{day}{suffix}")
            for suffix in (".csv", ".parquet")]
