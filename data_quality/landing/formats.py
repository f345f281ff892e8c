"""How a landing file's own columns become the contract's: renames, numeric times, ids
derived from content, and the presets of the common trackers' exports (presets.py).

A mapping is SQL over the staged file (read.STAGED): each contract column is an
expression over the file's columns. The staged rows are rewritten in place, so the
validation that follows (validate.py) sees the contract's columns and judges them as it
judges a native file: a time an export gives as epoch milliseconds becomes ISO 8601 text
when it is a number, and stays as it was when it is not, so it is quarantined as
`unparseable_time`, never silently NULL. A nested field that is not valid JSON
quarantines its row as `malformed_field`. The file's columns that no expression reads
are kept, as in a native file, in `extra`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from data_quality.contract import ENTITIES
from data_quality.landing.read import FILE, ROW, STAGED, LandingError, quote
from data_quality.landing.validate import BROKEN

RAW = "_landing_raw"  # the staged rows as the file had them, for the quarantine's record
TIME_UNITS = {"seconds": 1, "milliseconds": 1_000, "microseconds": 1_000_000}
DERIVED_ID_PREFIX = "c_"  # an event id derived from the row's content


def epoch_text(sql: str, unit: str) -> str:
    """A numeric time in `unit` since 1970 as ISO 8601 UTC text; anything else as it was
    (validation then rejects it as unparseable_time)."""
    per_second = TIME_UNITS[unit]
    num = f"try_cast(trim(cast({sql} as varchar)) as double)"
    iso = (f"strftime(make_timestamp(cast(round({num} * {1_000_000 // per_second}) as bigint)),"
           " '%Y-%m-%dT%H:%M:%S.%fZ')")
    return (f"(case when {num} is not null and isfinite({num}) and abs({num}) < "
            f"{per_second} * 1e11 then {iso} else cast({sql} as varchar) end)")


def json_path(column: str, path: str) -> str:
    """The text at a JSONPath of a JSON column (NULL when the column is not valid JSON:
    the row is then marked by `json_broken`)."""
    col = quote(column)
    return f"(case when json_valid({col}) then json_extract_string({col}, {_literal(path)}) end)"


def json_broken(column: str) -> str:
    return f"({quote(column)} is not null and not coalesce(json_valid({quote(column)}), false))"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class EntityMapping:
    """One entity's mapping: contract column -> SQL over the file's columns (`columns`);
    the file columns the expressions read, which a file must have (`required`) or may
    lack, NULL then (`optional`); and per nested JSON column the contract column it
    feeds (`nested`: a broken one quarantines the row as malformed_field)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    nested: Mapping[str, str] = field(default_factory=dict)  # file column -> contract column

    @property
    def reads(self) -> frozenset[str]:
        return self.required | self.optional | frozenset(self.nested)

    @property
    def is_identity(self) -> bool:
        return not self.columns and not self.nested


def renames(columns: Mapping[str, str], time_unit: str | None = None,
            time_columns: tuple[str, ...] = ()) -> EntityMapping:
    """landing.columns and landing.time_unit: contract column -> the file's column, and
    numeric times in `time_unit` for the contract's time columns."""
    exprs = {}
    for target, source in columns.items():
        exprs[target] = quote(source)
    if time_unit is not None:
        for target in time_columns:
            exprs[target] = epoch_text(exprs.get(target, quote(target)), time_unit)
    return EntityMapping(exprs, required=frozenset(columns.values()) | (
        frozenset(t for t in time_columns if t not in columns) if time_unit else frozenset()))


def derived_event_id(available: Mapping[str, str]) -> str:
    """An event id from the row's content: user or anonymous id, name, time and
    properties as the file gives them. A re-delivered row gets the same id (a counted
    duplicate, never a second event); two events identical in all of these collapse into
    one (docs/METRICS.md, "Event ids")."""
    parts = [f"coalesce(cast({available[c]} as varchar), '')" if c in available else "''"
             for c in ("user_id", "anonymous_id", "event_name", "event_time", "properties")]
    return f"'{DERIVED_ID_PREFIX}' || md5({' || chr(31) || '.join(parts)})"


def apply(con: duckdb.DuckDBPyConnection, entity: str, mapping: EntityMapping,
          columns: dict[str, str]) -> dict[str, str]:
    """Rewrite the staged rows (STAGED, whose columns are `columns`) into the contract's
    columns; the rows as read stay in RAW. Returns the new staged columns. An expression
    naming a column the file lacks is an error naming the column and the file."""
    ent = ENTITIES[entity]
    con.execute(f"create or replace temp table {RAW} as select * from {STAGED}")
    missing = sorted(c for c in mapping.required if c not in columns)
    if missing:
        raise LandingError(f"lacks the column(s) the {entity} mapping reads: "
                           f"{', '.join(missing)} (it has: {', '.join(sorted(columns))})")
    exprs = dict(mapping.columns)
    for name in ent.column_names:  # contract columns the file has under their own name
        if name not in exprs and name in columns and name not in mapping.reads:
            exprs[name] = quote(name)
    if entity == "events" and "event_id" not in exprs:
        exprs["event_id"] = derived_event_id(exprs)
    kept = [c for c in columns if c not in mapping.reads and c not in exprs]
    flags = [f"{json_broken(src)} as {quote(BROKEN + target)}"
             for src, target in mapping.nested.items() if src in columns]
    # nested values (Parquet's structs and lists) as JSON text: one set of expressions
    # serves a file in JSON lines and the same export in Parquet; a column the file lacks
    # is NULL
    as_text = [f"cast(to_json({quote(c)}) as varchar) as {quote(c)}"
               for c in mapping.nested if c in columns
               and not columns[c].startswith(("VARCHAR", "JSON"))]
    absent = [f"cast(null as varchar) as {quote(c)}" for c in mapping.reads
              if c not in columns]
    source = (f"(select * {'replace (' + ', '.join(as_text) + ')' if as_text else ''}"
              f"{''.join(', ' + a for a in absent)} from {RAW})") if as_text or absent else RAW
    select = ", ".join([f"{FILE}", f"{ROW}",
                        *(f"{sql} as {quote(name)}" for name, sql in exprs.items()),
                        *(quote(c) for c in kept), *flags])
    con.execute(f"create or replace temp table {STAGED} as select {select} from {source}")
    return {name: str(kind) for name, kind in con.execute(
        f"select column_name, column_type from (describe {STAGED})").fetchall()
        if name not in (FILE, ROW)}
