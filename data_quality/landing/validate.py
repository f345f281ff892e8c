"""Validate a staged file against the contract in one vectorised DuckDB query.

Each row gets the first failing reason, in the order of the contract's columns and, per
column, of the checks below (README lists the reasons), exactly as a row-by-row reading
would: one CASE over every (condition, reason, column) in that order. Valid rows come
out typed: ids trimmed, times in UTC, amounts as DOUBLE, statuses lower case, columns
outside the contract kept as JSON in `extra`; a rejected row keeps its original record
as JSON in the quarantine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from data_quality.contract import Column, Entity
from data_quality.landing.read import FILE, ROW, STAGED, quote

# formats.py: a column "<REJECT><reason>:<contract column>", true when the row is rejected
# for that reason (a tracker export's broken nested field, an epoch that is no number)
REJECT = "_reject_"

MAX_RECORD_CHARS = 2000  # quarantined records are kept for reading, not for replay of huge blobs
# Longer values are a bug or an attack, not data: ids and labels are short, JSON bounded.
MAX_VALUE_CHARS = {"id": 256, "string": 1024, "enum": 64, "json": 65536}
DEFAULT_EARLIEST = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)  # epoch-zero and friends
WHITESPACE = "' \t\n\x0b\x0c\r'"  # a literal: Python's str.strip() set, bar Unicode


@dataclass(frozen=True)
class ValidationRules:
    now: dt.datetime  # timezone-aware
    future_tolerance: dt.timedelta = dt.timedelta(hours=24)
    known_events: frozenset[str] | None = None
    earliest: dt.datetime = DEFAULT_EARLIEST  # earlier times (1970-01-01 defaults) are bad


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ts_literal(value: dt.datetime) -> str:
    return f"cast({literal(value.astimezone(dt.UTC).isoformat())} as timestamptz)"


def _text(name: str, kind: str) -> str:
    """The column as text, as it would print: NaN is missing, nested values are JSON."""
    col = quote(name)
    if kind == "VARCHAR":
        return col
    if kind in ("FLOAT", "DOUBLE"):
        return f"case when isnan({col}) then null else cast({col} as varchar) end"
    if kind.startswith(("STRUCT", "MAP")) or kind.endswith("]"):
        return f"cast(to_json({col}) as varchar)"
    return f"cast({col} as varchar)"


# Types whose values print as short, never blank text (numbers, times, booleans): a value
# is missing only when NULL (or NaN) and never oversized, so their checks need not cast
# every value to text, which cost most of a landing (10 M events: 19 s of 35).
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "BOOLEAN", "DATE", "TIME",
            "UUID")


def _short_text(kind: str) -> bool:
    return kind in _NUMERIC or kind.startswith(("TIMESTAMP", "DECIMAL", "TIME WITH"))


def _missing(name: str, kind: str, text: str) -> str:
    """The value is missing: NULL, NaN, or text that is blank."""
    col = quote(name)
    if kind in ("FLOAT", "DOUBLE"):
        return f"({col} is null or isnan({col}))"
    if _short_text(kind):
        return f"({col} is null)"
    # trim only a value that starts with whitespace (or a control character): a CASE
    # evaluates each branch for the rows still undecided, and most values are decided
    # by their first character
    return (f"(case when {text} is null then true when ascii({text}) > 32 then false "
            f"else trim({text}, {WHITESPACE}) = '' end)")


def trimmed(text: str) -> str:
    """`text` without the whitespace at either end. DuckDB's trim copies every value
    longer than 12 bytes even when there is nothing to cut (10 M derived event ids: 3.8 s
    against 0.6 s), so only a value whose first or last character could be whitespace
    (code point <= 32) is trimmed; the others pass as they are."""
    return (f"(case when ascii({text}) > 32 and ascii({text}[-1]) > 32 then {text} "
            f"else trim({text}, {WHITESPACE}) end)")


def timestamp_sql(name: str, kind: str, text: str) -> str:
    """A column of DuckDB type `kind` (its text form `text`) as TIMESTAMPTZ, NULL when it
    is not an ISO 8601 time."""
    if kind in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "DATE") or kind.startswith(
            "TIMESTAMP_"):
        return f"cast({quote(name)} as timestamptz)"  # naive = UTC (the session's zone)
    # ISO 8601 text only: a word DuckDB knows ('epoch', 'infinity') is not a time here
    value = trimmed(text)
    return (f"case when regexp_full_match({value}, '\\d{{4}}-.*') "
            f"then try_cast({value} as timestamptz) end")


def _column_checks(col: Column, kind: str | None, rules: ValidationRules,
                   other_missing: str | None = None) -> tuple[list[tuple[str, str]], str]:
    """(condition, reason) in the order they apply, and the typed value. `other_missing`:
    SQL true when the column `col.unless` names is missing (None: no such column)."""
    if kind is None:  # the file lacks the column
        if other_missing:  # judged row by row: rows with the other column pass
            return [(other_missing, "null_id")], "cast(null as varchar)"
        return ([("true", "missing_column")] if col.required else []), "null"
    text = _text(col.name, kind)
    null = _missing(col.name, kind, text)
    checks: list[tuple[str, str]] = []
    limit = MAX_VALUE_CHARS.get(col.kind)
    if limit is not None and not _short_text(kind):  # their text is under 64 characters
        checks.append((f"(not {null} and length({text}) > {limit})", "oversized_value"))
    if col.kind == "id":
        checks.append((f"({null} and {other_missing})" if other_missing else null, "null_id"))
        return checks, f"(case when not {null} then {trimmed(text)} end)" \
            if other_missing else trimmed(text)
    if col.kind in ("timestamp", "date"):
        ts = timestamp_sql(col.name, kind, text)
        ts = f"(case when isfinite({ts}) then {ts} end)"
        if col.required:
            checks.append((null, "null_time"))
        checks.append((f"(not {null} and {ts} is null)", "unparseable_time"))
        checks.append((f"({ts} > {_ts_literal(rules.now + rules.future_tolerance)})",
                       "future_time"))
        checks.append((f"({ts} < {_ts_literal(rules.earliest)})", "ancient_time"))
        return checks, (f"cast({ts} as date)" if col.kind == "date" else ts)
    if col.kind == "amount":
        num = (f"cast({quote(col.name)} as double)"
               if kind in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT",
                           "HUGEINT", "UBIGINT", "UINTEGER") or kind.startswith("DECIMAL")
               else f"try_cast({trimmed(text)} as double)")
        bad = f"({num} is null or not isfinite({num}))"
        # an optional amount may be missing, not malformed
        checks.append((f"({null} or {bad})" if col.required else f"(not {null} and {bad})",
                       "bad_amount"))
        checks.append((f"({num} < 0)", "negative_amount"))
        return checks, num
    if col.kind == "enum":
        value = f"lower({trimmed(text)})"
        allowed = ", ".join(literal(v) for v in col.allowed)
        checks.append((f"({null} or {value} not in ({allowed}))", "unknown_status"))
        return checks, value
    return checks, f"(case when {null} then null else {text} end)"  # strings, JSON


def _json_object(names: list[str], values: list[str]) -> str:
    if not names:
        return "cast(null as varchar)"
    return ("cast(to_json(struct_pack("
            + ", ".join(f"{quote(n)} := {v}" for n, v in zip(names, values, strict=True))
            + ")) as varchar)")


def validation_sql(entity: Entity, columns: dict[str, str], rules: ValidationRules,
                   source: str = STAGED) -> str:
    """SELECT over the staged rows (`source`: STAGED, or the view of a mapping over them):
    _source_file, _source_row, the contract's columns typed, extra, and _reason and
    _column (NULL for a valid row)."""
    # a mapped file (formats.py) marks the rows its mapping rejects, first
    flagged = [c for c in columns if c.startswith(REJECT)]
    conditions: list[tuple[str, str, str]] = [
        (quote(c), *c[len(REJECT):].split(":", 1)) for c in flagged]
    values = []
    for col in entity.columns:
        other = columns.get(col.unless) if col.unless else None
        other_missing = (_missing(col.unless, other, _text(col.unless, other))
                         if other is not None else None)
        checks, value = _column_checks(col, columns.get(col.name), rules, other_missing)
        conditions += [(cond, reason, col.name) for cond, reason in checks]
        values.append(f"{value} as {quote(col.name)}")
    if entity.name == "events" and rules.known_events is not None and "event_name" in columns:
        raw = _text("event_name", columns["event_name"])
        known = ", ".join(literal(e) for e in sorted(rules.known_events)) or "null"
        conditions.append((f"({raw} is not null and {raw} not in ({known}))",
                           "unknown_event_name", "event_name"))
    extra = [c for c in columns if c not in entity.column_names and c not in flagged]
    if not conditions:
        return (f"select {FILE}, {ROW}, {', '.join(values)}, "
                f"{_json_object(extra, [quote(c) for c in extra])} as extra, "
                f"cast(null as varchar) as _reason, cast(null as varchar) as _column "
                f"from {source}")
    # one CASE finds the first failing check; its number picks the reason and the column
    # (two CASEs evaluated every condition twice)
    check = ("case " + " ".join(f"when {c} then {i}" for i, (c, _, _) in
                                enumerate(conditions, start=1)) + " end")
    reasons = ", ".join(literal(r) for _, r, _ in conditions)
    names = ", ".join(literal(n) for _, _, n in conditions)
    return (
        f"select * exclude (_check), [{reasons}][_check] as _reason, "
        f"[{names}][_check] as _column from ("
        f"select {FILE}, {ROW}, {', '.join(values)}, "
        f"{_json_object(extra, [quote(c) for c in extra])} as extra, {check} as _check "
        f"from {source})"
    )


def record_sql(columns: dict[str, str]) -> str:
    """The staged row as JSON text (values as they print), cut to MAX_RECORD_CHARS: what
    the quarantine keeps of a rejected row."""
    record = _json_object(list(columns), [_text(c, k) for c, k in columns.items()])
    return (f"case when length({record}) <= {MAX_RECORD_CHARS} then {record} "
            f"else left({record}, {MAX_RECORD_CHARS}) || '…(truncated)' end")
