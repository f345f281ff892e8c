"""How a landing file's own columns become the contract's: renames, numeric times, ids
derived from content, and the presets of the common trackers' exports (presets.py).

A mapping is SQL over the staged file (read.STAGED): each contract column is an
expression over the file's columns. The staged rows are rewritten in place, so the
validation that follows (validate.py) sees the contract's columns and judges them as it
judges a native file. A time an export gives as an epoch becomes a timestamp; one that
is not a number is quarantined as `unparseable_time`, never silently NULL. A nested
field that is not valid JSON quarantines its row as `malformed_field`. The file's columns
that no expression reads are kept, as in a native file, in `extra`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import duckdb

from data_quality.contract import ENTITIES
from data_quality.landing.read import FILE, ROW, STAGED, LandingError, quote
from data_quality.landing.validate import REJECT

MAPPED = "_landing_mapped"  # a view: the staged rows (STAGED, as read) in the contract's columns
TIME_UNITS = {"seconds": 1, "milliseconds": 1_000, "microseconds": 1_000_000}
DERIVED_ID_PREFIX = "c_"  # an event id derived from the row's content


def epoch_time(sql: str, unit: str) -> tuple[str, str]:
    """A numeric time in `unit` since 1970 as TIMESTAMPTZ (NULL otherwise), and the SQL
    that is true when the value is there but no such number (unparseable_time)."""
    per_second = TIME_UNITS[unit]
    # straight from a number (Parquet's BIGINT) or text (a cast trims spaces); no detour
    # through text for a typed column
    num = f"try_cast({sql} as double)"
    ok = f"({num} is not null and isfinite({num}) and abs({num}) < {per_second} * 1e11)"
    value = (f"(case when {ok} then cast(make_timestamp(cast(round({num} * "
             f"{1_000_000 // per_second}) as bigint)) as timestamptz) end)")
    blank = f"nullif(trim(cast({sql} as varchar)), '') is null"
    # the text of a value is only looked at when it is not a valid time
    return value, f"(case when {ok} then false else not ({blank}) end)"


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
    lack, NULL then (`optional`); per nested JSON column the contract column it feeds
    (`nested`: a broken one quarantines the row as malformed_field); and more reasons to
    reject a row (`rejects`: SQL condition, reason, contract column)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    nested: Mapping[str, str] = field(default_factory=dict)  # file column -> contract column
    # nested file columns the expressions read typed (struct fields, lists): the structure
    # (DuckDB's from_json) a JSON text is read with, other keys ignored; a Parquet file's
    # own nested column is read as it is
    typed: Mapping[str, str] = field(default_factory=dict)
    rejects: tuple[tuple[str, str, str], ...] = ()
    # an event whose `event_id` expression is NULL gets the id derived from its content
    derive_missing_ids: bool = False
    # the column names of the export's headerless .tsv files, in order (Snowplow's)
    tsv_header: tuple[str, ...] = ()

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
    exprs = {target: quote(source) for target, source in columns.items()}
    rejects = []
    if time_unit is not None:
        for target in time_columns:
            exprs[target], bad = epoch_time(exprs.get(target, quote(target)), time_unit)
            rejects.append((bad, "unparseable_time", target))
    return EntityMapping(exprs, required=frozenset(columns.values()) | (
        frozenset(t for t in time_columns if t not in columns) if time_unit else frozenset()),
        rejects=tuple(rejects))


def derived_event_id(columns: tuple[str, ...]) -> str:
    """An event id from the row's content, over the mapped columns named: user or
    anonymous id, name, time and properties. A re-delivered row gets the same id (a
    counted duplicate, never a second event); two events identical in all of these
    collapse into one (docs/METRICS.md, "Event id")."""
    parts = [f"coalesce(cast({quote(c)} as varchar), '')" if c in columns else "''"
             for c in ("user_id", "anonymous_id", "event_name", "event_time", "properties")]
    # one concat_ws, not a chain of ||: the same text (no part is NULL), copied once
    return f"'{DERIVED_ID_PREFIX}' || md5(concat_ws(chr(31), {', '.join(parts)}))"


def apply(con: duckdb.DuckDBPyConnection, entity: str, mapping: EntityMapping,
          columns: dict[str, str]) -> dict[str, str]:
    """Rewrite the staged rows (STAGED, whose columns are `columns`) into the contract's
    columns: the view MAPPED over STAGED, whose rows stay as read (for the quarantine's
    record). The mapping is computed inside the validation query that reads the view,
    never written to a table first (that write cost as much as the rest of a GA4
    landing). Returns the view's columns. A file without
    a column the mapping requires raises LandingError naming the columns (the landing
    sets the file apart as unreadable)."""
    ent = ENTITIES[entity]
    missing = sorted(c for c in mapping.required if c not in columns)
    if missing:
        raise LandingError(f"lacks the column(s) the {entity} mapping reads: "
                           f"{', '.join(missing)} (it has: {', '.join(sorted(columns))})")
    exprs = dict(mapping.columns)
    for name in ent.column_names:  # contract columns the file has under their own name
        if name not in exprs and name in columns and name not in mapping.reads:
            exprs[name] = quote(name)
    kept = [c for c in columns if c not in mapping.reads and c not in exprs]
    rejects = [(f"({quote(src)} is not null and not coalesce(json_valid({quote(src)}), "
                f"false))", "malformed_field", target)
               for src, target in mapping.nested.items()
               if src in columns and columns[src].startswith(("VARCHAR", "JSON"))]
    rejects += list(mapping.rejects)
    flags = [f"{cond} as {quote(f'{REJECT}{reason}:{target}')}"
             for cond, reason, target in rejects]
    # one set of expressions serves a file in JSON lines and the same export in Parquet:
    # nested values are JSON text, or typed where the mapping reads them typed (Parquet's
    # own, or JSON text read once); a column the file lacks is NULL
    text = {c for c in columns if columns[c].startswith(("VARCHAR", "JSON"))}
    replaced = [f"cast(to_json({quote(c)}) as varchar) as {quote(c)}"
                for c in mapping.nested if c in columns and c not in text
                and c not in mapping.typed]
    replaced += [f"(case when json_valid({quote(c)}) then from_json({quote(c)}, "
                 f"{_literal(structure)}) end) as {quote(c)}"
                 for c, structure in mapping.typed.items() if c in text]
    # an absent nested column read typed is a typed NULL: its expressions still bind
    absent = [(f"(case when false then from_json('null', {_literal(mapping.typed[c])}) end)"
               if c in mapping.typed else "cast(null as varchar)") + f" as {quote(c)}"
              for c in mapping.reads if c not in columns]
    source = STAGED
    if replaced or absent:
        source = (f"(select * {'replace (' + ', '.join(replaced) + ')' if replaced else ''}"
                  f"{''.join(', ' + a for a in absent)} from {STAGED})")
    inner = ", ".join([FILE, ROW, *(f"{sql} as {quote(name)}" for name, sql in exprs.items()),
                       *(quote(c) for c in kept), *flags])
    # the derived id reads the mapped columns, each computed once
    outer = "*"
    if entity == "events" and "event_id" not in exprs:
        outer = f"*, {derived_event_id(tuple(exprs))} as event_id"
    elif entity == "events" and mapping.derive_missing_ids:
        outer = (f"* replace (coalesce(event_id, {derived_event_id(tuple(exprs))}) "
                 "as event_id)")
    con.execute(f"create or replace temp view {MAPPED} as select {outer} from "
                f"(select {inner} from {source})")
    return {name: str(kind) for name, kind in con.execute(
        f"select column_name, column_type from (describe {MAPPED})").fetchall()
        if name not in (FILE, ROW)}
