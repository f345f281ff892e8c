"""Land raw files into the warehouse: read, validate against the contract,
quarantine bad rows, de-duplicate, and publish `raw.*` tables.

Invariant, per entity: rows read = rows in raw.<entity> + rows in
raw.quarantine. Files are tracked by content hash, so a rerun re-reads only
new or changed files and never counts a row twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from data_quality.contract import ENTITIES, Column, Entity

log = logging.getLogger(__name__)

SUFFIXES = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
MAX_RECORD_CHARS = 2000  # quarantined records are kept for reading, not for replay of huge blobs
# Longer values are a bug or an attack, not data: ids and labels are short, JSON bounded.
MAX_VALUE_CHARS = {"id": 256, "string": 1024, "enum": 64, "json": 65536}
DEFAULT_EARLIEST = dt.datetime(1980, 1, 1, tzinfo=dt.UTC)  # epoch-zero and friends


class LandingError(RuntimeError):
    """Landing cannot proceed; the message names the file, the column and an example."""


@dataclass(frozen=True)
class ValidationRules:
    now: dt.datetime  # timezone-aware
    future_tolerance: dt.timedelta = dt.timedelta(hours=24)
    known_events: frozenset[str] | None = None
    earliest: dt.datetime = DEFAULT_EARLIEST  # earlier times (1970-01-01 defaults) are bad


@dataclass
class FileResult:
    entity: str
    source_file: str
    valid: pd.DataFrame
    rejects: pd.DataFrame

    @property
    def rows_read(self) -> int:
        return len(self.valid) + len(self.rejects)


@dataclass
class SyncReport:
    run_id: str
    files_loaded: list[str] = field(default_factory=list)
    files_unchanged: int = 0
    rows_read: dict[str, int] = field(default_factory=dict)  # this sync, per entity
    rows_staged: dict[str, int] = field(default_factory=dict)  # totals in raw.*
    rows_quarantined: dict[str, int] = field(default_factory=dict)  # totals
    reasons: dict[str, int] = field(default_factory=dict)  # totals per reason


# ---------------------------------------------------------------- reading


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Rows as strings; rows with the wrong number of fields are returned apart."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LandingError(
            f"{path}: not valid UTF-8 (byte {exc.start}): re-export the file as UTF-8"
        ) from None
    # big fields are read, then quarantined as oversized_value with their row number
    csv.field_size_limit(max(csv.field_size_limit(), 64 << 20))
    reader = csv.reader(io.StringIO(text))
    rows, numbers, bad = [], [], []
    try:
        header = next(reader, None)
        if header is None:
            return pd.DataFrame(), []
        header = [h.strip() for h in header]
        for i, row in enumerate(reader, start=1):
            if not row:
                continue
            if len(row) != len(header):
                bad.append((i, "malformed_row", ",".join(row)))
            else:
                rows.append(row)
                numbers.append(i)
    except csv.Error as exc:
        raise LandingError(f"{path}: not a readable CSV file (line {reader.line_num}: {exc})") \
            from None
    df = pd.DataFrame(rows, columns=header, dtype=object, index=pd.Index(numbers))
    return df.replace({"": None}), bad


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    records, numbers, bad = [], [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise LandingError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict):
            bad.append((i, "malformed_row", line))
            continue
        records.append(rec)
        numbers.append(i)
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    df.index = pd.Index(numbers)
    return df.astype(object), bad


def _read_parquet(path: Path) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise LandingError(f"{path}: unreadable Parquet file ({exc})") from None
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df, []


READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}


def read_file(path: Path) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Read one landing file. Index = 1-based source row number."""
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise LandingError(f"{path}: unsupported file type (use .parquet, .csv or .jsonl)")
    return READERS[fmt](path)


# ---------------------------------------------------------------- validation


def _is_null(s: pd.Series) -> pd.Series:
    return s.isna() | s.astype(str).str.strip().eq("")


def _parse_timestamp(s: pd.Series) -> pd.Series:
    """To UTC. Naive values mean UTC; zoned values are converted."""
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is None:
            return s.dt.tz_localize("UTC")
        return s.dt.tz_convert("UTC")
    text = s.astype("string").str.strip()
    return pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")


def _record(row: pd.Series) -> str:
    rec = {
        k: (None if (v is None or (isinstance(v, float) and np.isnan(v))) else str(v))
        for k, v in row.items()
    }
    out = json.dumps(rec, ensure_ascii=False, default=str)
    return out if len(out) <= MAX_RECORD_CHARS else out[:MAX_RECORD_CHARS] + "…(truncated)"


def validate_frame(
    entity: Entity,
    df: pd.DataFrame,
    source_file: str,
    rules: ValidationRules,
    malformed: Iterable[tuple[int, str, str]] = (),
) -> FileResult:
    """Split a file's rows into valid rows (typed, contract columns + extras as
    JSON) and rejects: one row per bad input row with the first failing reason,
    in the order the columns and checks below run (README lists the reasons)."""
    reasons = pd.Series(None, index=df.index, dtype=object)
    columns = pd.Series(None, index=df.index, dtype=object)

    def flag(mask: pd.Series, reason: str, column: str) -> None:
        new = mask & reasons.isna()
        reasons[new] = reason
        columns[new] = column

    out = pd.DataFrame(index=df.index)
    for col in entity.columns:
        if col.name not in df.columns:
            if col.required:
                flag(pd.Series(True, index=df.index), "missing_column", col.name)
            out[col.name] = None
            continue
        out[col.name] = _validate_column(col, df[col.name], flag, rules)
    if rules.known_events is not None and entity.name == "events" and "event_name" in df:
        flag(
            ~df["event_name"].isin(rules.known_events) & df["event_name"].notna(),
            "unknown_event_name",
            "event_name",
        )

    extra = [c for c in df.columns if c not in entity.column_names]
    if extra:
        sub = df[extra].astype(object).where(df[extra].notna(), None)
        out["extra"] = [
            json.dumps(r, default=str, ensure_ascii=False) for r in sub.to_dict("records")
        ]
    else:
        out["extra"] = None

    bad = reasons.notna()
    rejects = pd.DataFrame(
        {
            "entity": entity.name,
            "source_file": source_file,
            "source_row": df.index[bad].astype("int64"),
            "reason": reasons[bad].to_numpy(),
            "column_name": columns[bad].to_numpy(),
            "record": [_record(r) for _, r in df[bad].iterrows()],
        }
    )
    malformed = list(malformed)
    if malformed:
        rejects = pd.concat(
            [
                rejects,
                pd.DataFrame(
                    {
                        "entity": entity.name,
                        "source_file": source_file,
                        "source_row": [m[0] for m in malformed],
                        "reason": [m[1] for m in malformed],
                        "column_name": None,
                        "record": [m[2][:MAX_RECORD_CHARS] for m in malformed],
                    }
                ),
            ],
            ignore_index=True,
        )
    valid = out[~bad].copy()
    valid.insert(0, "source_row", valid.index.astype("int64"))
    valid.insert(0, "source_file", source_file)
    return FileResult(entity.name, source_file, valid.reset_index(drop=True), rejects)


def _to_text(s: pd.Series, null: pd.Series, strip: bool = False) -> pd.Series:
    """Object series of str or None. pandas 3 reads strings with NaN as the
    missing value, which str() would turn into the text 'nan'."""

    def conv(v):
        if isinstance(v, str):
            return v.strip() if strip else v
        return json.dumps(v, default=str) if isinstance(v, dict | list) else str(v)

    return pd.Series(
        [None if n else conv(v) for v, n in zip(s, null, strict=True)], index=s.index, dtype=object
    )


def _validate_column(col: Column, s: pd.Series, flag, rules: ValidationRules) -> pd.Series:
    null = _is_null(s)
    limit = MAX_VALUE_CHARS.get(col.kind)
    if limit is not None:
        flag(~null & s.astype("string").str.len().gt(limit).fillna(False), "oversized_value",
             col.name)
    if col.kind == "id":
        flag(null, "null_id", col.name)
        return _to_text(s, null, strip=True)
    if col.kind in ("timestamp", "date"):
        ts = _parse_timestamp(s)
        if col.required:
            flag(null, "null_time", col.name)
        flag(~null & ts.isna(), "unparseable_time", col.name)
        horizon = pd.Timestamp(rules.now) + rules.future_tolerance
        flag(ts > horizon, "future_time", col.name)
        flag(ts < pd.Timestamp(rules.earliest), "ancient_time", col.name)
        return ts.dt.date if col.kind == "date" else ts
    if col.kind == "amount":
        num = pd.to_numeric(s, errors="coerce")
        flag(null | num.isna() | ~np.isfinite(num.fillna(0)), "bad_amount", col.name)
        flag(num < 0, "negative_amount", col.name)
        return num.astype("float64")
    if col.kind == "enum":
        text = _to_text(s, null, strip=True).str.lower()
        flag(~text.isin(col.allowed) | null, "unknown_status", col.name)
        return text
    # optional strings and JSON properties
    return _to_text(s, null)


# ---------------------------------------------------------------- warehouse sync


def _fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def discover_files(landing: Path) -> dict[str, list[Path]]:
    """Landing files per entity: <landing>/<entity>/**/*.{parquet,csv,jsonl}.
    Folders starting with '_' or '.' (such as the generator's _truth) are ignored."""
    landing = Path(landing)
    if not landing.is_dir():
        raise LandingError(f"landing directory not found: {landing}")
    found: dict[str, list[Path]] = {}
    for name in ENTITIES:
        folder = landing / name
        if folder.is_dir():
            found[name] = sorted(
                p
                for p in folder.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUFFIXES
                and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
            )
    unknown = [
        p.name
        for p in landing.iterdir()
        if p.is_dir() and p.name not in ENTITIES and not p.name.startswith(("_", "."))
    ]
    if unknown:
        log.warning("ignoring landing folders that are not in the contract: %s", unknown)
    if not any(found.values()):
        raise LandingError(
            f"{landing}: no landing files found; expected folders {sorted(ENTITIES)} "
            "holding .parquet, .csv or .jsonl files"
        )
    return found


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists landing")
    con.execute("create schema if not exists raw")
    con.execute(
        """create table if not exists landing.files (
            entity varchar, source_file varchar primary key, fingerprint varchar,
            rows_read bigint, run_id varchar, loaded_at timestamptz)"""
    )
    con.execute(
        """create table if not exists landing.rejects (
            entity varchar, source_file varchar, source_row bigint, reason varchar,
            column_name varchar, record varchar, run_id varchar)"""
    )
    for ent in ENTITIES.values():
        cols = ", ".join(f'"{c.name}" {ent.duckdb_type(c)}' for c in ent.columns)
        con.execute(
            f"""create table if not exists landing.{ent.name} (
                source_file varchar, source_row bigint, {cols}, extra varchar, run_id varchar)"""
        )


def _publish_raw(con: duckdb.DuckDBPyConnection) -> None:
    """raw.<entity> = first copy of each key (by file, then row); later copies
    join the row-level rejects in raw.quarantine as duplicate_key."""
    dup_parts = []
    for ent in ENTITIES.values():
        key = ", ".join(f'"{k}"' for k in ent.key)
        cols = ", ".join(f'"{c}"' for c in ent.column_names)
        packed = ", ".join(f'"{c}" := "{c}"' for c in ent.column_names)
        ranked = (
            f"select *, row_number() over (partition by {key} order by source_file, source_row) "
            f"as _copy from landing.{ent.name}"
        )
        con.execute(
            f"create or replace table raw.{ent.name} as select {cols}, extra, source_file, "
            f"source_row, run_id from ({ranked}) where _copy = 1"
        )
        dup_parts.append(
            f"select '{ent.name}' as entity, source_file, source_row, 'duplicate_key' as reason, "
            f"'{'+'.join(ent.key)}' as column_name, "
            f"to_json(struct_pack({packed}))::varchar "
            f"as record, run_id from ({ranked}) where _copy > 1"
        )
    con.execute(
        "create or replace table raw.quarantine as "
        "select entity, source_file, source_row, reason, column_name, record, run_id "
        "from landing.rejects union all " + " union all ".join(dup_parts)
    )


@dataclass(frozen=True)
class BadRowLimit:
    """When a landing is refused. Duplicates (at-least-once delivery) are dropped and
    counted but never count as bad. A file is judged alone from `min_rows_per_file` rows
    on; a smaller file's rate says little, so when a run has one, its entity is judged
    over all of the run's files of that entity together."""

    max_rate: float = 0.05
    min_rows_per_file: int = 1000


def _example(con: duckdb.DuckDBPyConnection, files: list[str]) -> str:
    reason, column, n, record, row, source_file = con.execute(
        """select reason, column_name, count(*) over (partition by reason, column_name) n,
                  record, source_row, source_file
           from raw.quarantine
           where source_file in (select unnest(?)) and reason <> 'duplicate_key'
           order by n desc, source_file, source_row limit 1""",
        [files],
    ).fetchone()
    return (f"most common: {reason} in column {column!s} ({n} rows), "
            f"e.g. {source_file} row {row}: {record[:300]}")


def _check_bad_rate(con: duckdb.DuckDBPyConnection, files: list[str], limit: BadRowLimit) -> None:
    if not files:
        return
    per_file = con.execute(
        """
        select f.entity, f.source_file, f.rows_read,
               count(q.source_row) filter (where q.reason <> 'duplicate_key') as bad
        from landing.files f left join raw.quarantine q using (source_file)
        where f.source_file in (select unnest($files))
        group by all
        order by f.entity, f.source_file
        """,
        {"files": files},
    ).fetchall()
    msgs = []
    pools: dict[str, list[tuple[str, int, int]]] = {}
    small_entities = set()
    for entity, source_file, read, bad in per_file:
        pools.setdefault(entity, []).append((source_file, read, bad))
        if read < limit.min_rows_per_file:
            small_entities.add(entity)
        elif bad / read > limit.max_rate:
            msgs.append(
                f"{source_file}: {bad} of {read} rows are bad ({bad / read:.1%}, limit "
                f"{limit.max_rate:.1%}; a file of {limit.min_rows_per_file:,} rows or more is "
                f"judged alone); {_example(con, [source_file])}")
    for entity in sorted(small_entities):
        pool = pools[entity]
        read, bad = sum(p[1] for p in pool), sum(p[2] for p in pool)
        if read and bad / read > limit.max_rate:
            worst = [p[0] for p in sorted(pool, key=lambda p: (-p[2], p[0])) if p[2]]
            msgs.append(
                f"{entity}: {bad} of {read} rows in this run's {len(pool)} files are bad "
                f"({bad / read:.1%}, limit {limit.max_rate:.1%}; files under "
                f"{limit.min_rows_per_file:,} rows are judged with the run's other {entity} "
                f"files), most in {', '.join(worst[:3])}; {_example(con, worst)}")
    if msgs:
        raise LandingError(
            "bad-row rate above the limit, nothing from these files was loaded:\n  "
            + "\n  ".join(msgs))


def sync_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    rules: ValidationRules,
    run_id: str,
    max_bad_row_rate: float = 0.05,
    min_rows_per_file: int = 1000,
) -> SyncReport:
    """Bring the warehouse's raw tables in line with the landing directory.

    New or changed files replace their earlier rows; unchanged files are skipped.
    Everything happens in one transaction: on any error nothing is written.
    """
    _ensure_tables(con)
    files = discover_files(landing)
    report = SyncReport(run_id=run_id)
    known = dict(con.execute("select source_file, fingerprint from landing.files").fetchall())
    con.execute("begin transaction")
    try:
        for entity_name, paths in files.items():
            entity = ENTITIES[entity_name]
            for path in paths:
                source = path.relative_to(landing).as_posix()
                fp = _fingerprint(path)
                if known.get(source) == fp:
                    report.files_unchanged += 1
                    continue
                df, malformed = read_file(path)
                result = validate_frame(entity, df, source, rules, malformed)
                _replace_file(con, entity, result, fp, run_id)
                report.files_loaded.append(source)
                report.rows_read[entity_name] = (
                    report.rows_read.get(entity_name, 0) + result.rows_read
                )
                log.info(
                    "landed %s: %d rows, %d rejected", source, result.rows_read, len(result.rejects)
                )
        _publish_raw(con)
        _check_bad_rate(con, report.files_loaded, BadRowLimit(max_bad_row_rate, min_rows_per_file))
        _fill_totals(con, report)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return report


def _replace_file(con, entity: Entity, result: FileResult, fp: str, run_id: str) -> None:
    con.execute(f"delete from landing.{entity.name} where source_file = ?", [result.source_file])
    con.execute("delete from landing.rejects where source_file = ?", [result.source_file])
    con.execute("delete from landing.files where source_file = ?", [result.source_file])
    valid = result.valid.assign(run_id=run_id)
    if len(valid):
        con.register("_valid", valid)
        cols = ", ".join(f'"{c}"' for c in valid.columns)
        con.execute(f"insert into landing.{entity.name} ({cols}) select {cols} from _valid")
        con.unregister("_valid")
    rejects = result.rejects.assign(run_id=run_id)
    if len(rejects):
        con.register("_rejects", rejects)
        con.execute(
            "insert into landing.rejects select entity, source_file, source_row, reason, "
            "column_name, record, run_id from _rejects"
        )
        con.unregister("_rejects")
    con.execute(
        "insert into landing.files values (?, ?, ?, ?, ?, now())",
        [entity.name, result.source_file, fp, result.rows_read, run_id],
    )


def _fill_totals(con, report: SyncReport) -> None:
    for name in ENTITIES:
        read = con.execute(
            "select coalesce(sum(rows_read), 0) from landing.files where entity = ?", [name]
        ).fetchone()[0]
        staged = con.execute(f"select count(*) from raw.{name}").fetchone()[0]
        quarantined = con.execute(
            "select count(*) from raw.quarantine where entity = ?", [name]
        ).fetchone()[0]
        if read != staged + quarantined:  # the conservation invariant; a bug if it fires
            raise LandingError(
                f"{name}: rows read {read} != staged {staged} + quarantined {quarantined}"
            )
        report.rows_staged[name] = staged
        report.rows_quarantined[name] = quarantined
    report.reasons = dict(
        con.execute("select reason, count(*) from raw.quarantine group by 1 order by 1").fetchall()
    )


ACTIVITY_TIME_COLUMNS = {"events": "event_time", "orders": "order_time"}


def landing_time_range(landing: Path) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last parseable activity time (UTC) in the landing, or None.
    Used to choose a run's default day range; unparseable values are ignored
    here and quarantined by the landing itself."""
    lo, hi = None, None
    for entity, paths in discover_files(landing).items():
        column = ACTIVITY_TIME_COLUMNS.get(entity)
        if column is None:
            continue
        for path in paths:
            try:
                if path.suffix.lower() == ".parquet":
                    values = pd.read_parquet(path, columns=[column])[column]
                else:
                    df, _ = read_file(path)
                    if column not in df:
                        continue
                    values = df[column]
            except (LandingError, KeyError, ValueError):
                continue
            ts = _parse_timestamp(values).dropna()
            if ts.empty:
                continue
            lo = ts.min() if lo is None else min(lo, ts.min())
            hi = ts.max() if hi is None else max(hi, ts.max())
    return None if lo is None else (lo, hi)
