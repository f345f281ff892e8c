"""The validated landing as a Parquet lake: what a warehouse other than the landing's own
DuckDB file (Spark) reads as its raw tables.

One folder per table (the raw entities and the quarantine), one Parquet file per part:
per UTC day of the entity's time for the raw entities, per entity for the quarantine
(`<lake>/<table>/part=<value>/data.parquet`). After each landing the parts whose rows
changed are written again and the parts that lost all rows removed. What changed is found
by a fingerprint per part (row count and an order-free hash of the rows), kept in
`_userops.lake_parts` of the landing's DuckDB file: a replaced landing file, a late file
or a re-ranked duplicate rewrites exactly the parts it touched, and a crash half-way
leaves parts whose fingerprint was not yet recorded, which the next landing writes again.
Each file is written beside its place and renamed into it, so a reader never sees half of
one. The rows are exactly the raw views' (raw = staged + quarantined holds on the lake).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from data_quality.contract import ENTITIES

log = logging.getLogger(__name__)

PARTS_TABLE = "_userops.lake_parts"
QUARANTINE = "quarantine"

# Each lake table and the SQL of its part value (a string).
PART_OF = {
    "events": "cast(cast(event_time as date) as varchar)",
    "users": "cast(cast(signup_time as date) as varchar)",
    "orders": "cast(cast(order_time as date) as varchar)",
    "experiment_assignments": "cast(cast(assigned_time as date) as varchar)",
    "channel_costs": 'cast("date" as varchar)',
    "contacts": "cast(cast(sent_time as date) as varchar)",
    "campaign_costs": 'cast("date" as varchar)',
    QUARANTINE: "entity",
}
assert set(PART_OF) == {*ENTITIES, QUARANTINE}


@dataclass
class LakeExport:
    written: dict[str, int]  # table -> parts written
    removed: dict[str, int]  # table -> parts removed
    rows: dict[str, int]  # table -> rows in the parts written


def export_lake(con: duckdb.DuckDBPyConnection, lake: Path) -> LakeExport:
    """Bring `lake` in line with the raw views of the landing's DuckDB file `con`."""
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema if not exists _userops")
    con.execute(f"create table if not exists {PARTS_TABLE} (lake_table varchar, part varchar, "
                "rows bigint, digest varchar)")
    result = LakeExport({}, {}, {})
    for table, part_sql in PART_OF.items():
        relation = f"raw.{table}"
        now = {part: (rows, digest) for part, rows, digest in con.execute(
            f"select {part_sql} as part, count(*), cast(bit_xor(hash(r)) as varchar) "
            f"from {relation} as r group by all").fetchall()}
        before = {part: (rows, digest) for part, rows, digest in con.execute(
            f"select part, rows, digest from {PARTS_TABLE} where lake_table = ?",
            [table]).fetchall()}
        folder = lake / table
        changed = sorted(p for p, fp in now.items() if before.get(p) != fp
                         or not (folder / f"part={p}" / "data.parquet").exists())
        _write_parts(con, relation, part_sql, changed, folder)
        for part in changed:
            con.execute(f"delete from {PARTS_TABLE} where lake_table = ? and part = ?",
                        [table, part])
            con.execute(f"insert into {PARTS_TABLE} values (?, ?, ?, ?)",
                        [table, part, *now[part]])
        gone = sorted(set(before) - set(now))
        for part in gone:
            shutil.rmtree(folder / f"part={part}", ignore_errors=True)
            con.execute(f"delete from {PARTS_TABLE} where lake_table = ? and part = ?",
                        [table, part])
        if not now:  # an empty table still has its columns, for the engine that reads it
            _write_part(con, relation, "'empty'", "empty", folder / "part=empty", empty=True)
        else:
            shutil.rmtree(folder / "part=empty", ignore_errors=True)
        result.written[table], result.removed[table] = len(changed), len(gone)
        result.rows[table] = sum(now[p][0] for p in changed)
    log.info("lake %s: parts written %s, removed %s", lake, result.written, result.removed)
    return result


def _write_parts(con: duckdb.DuckDBPyConnection, relation: str, part_sql: str,
                 parts: list[str], folder: Path) -> None:
    """The rows of `parts`, written in one pass over `relation` (a part at a time would
    read it once per part: a 365-day landing 365 times) into a staging folder split by
    part, then each part's file renamed into its place."""
    if not parts:
        return
    staging = folder.parent / f".{folder.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy (select *, {part_sql} as _lake_part from {relation} "
                f"where list_contains(?, {part_sql})) to '{_escape(staging)}' "
                "(format parquet, partition_by (_lake_part))", [parts])
    for part in parts:
        written = sorted((staging / f"_lake_part={part}").glob("*.parquet"))
        if len(written) != 1:  # one file per part is what the readers expect
            raise RuntimeError(f"lake {folder.name} part {part}: {len(written)} files written")
        target = folder / f"part={part}"
        target.mkdir(parents=True, exist_ok=True)
        os.replace(written[0], target / "data.parquet")
    shutil.rmtree(staging, ignore_errors=True)


def _write_part(con: duckdb.DuckDBPyConnection, relation: str, part_sql: str, part: str,
                folder: Path, empty: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "data.parquet"
    partial = folder / ".data.parquet.partial"
    where = "false" if empty else f"{part_sql} = ?"
    con.execute(f"copy (select * from {relation} where {where}) to "
                f"'{_escape(partial)}' (format parquet)", [] if empty else [part])
    os.replace(partial, target)


def _escape(path: Path) -> str:
    return str(path).replace("'", "''")
