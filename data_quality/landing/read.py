"""Find landing files and stage one file's rows, untyped, in a DuckDB temp table.

Parquet is read by DuckDB itself (no pandas, no Python per row). CSV and JSON lines are
parsed in Python, because rows with the wrong shape must be kept apart with their row
number (malformed_row), and their values handed to DuckDB as text.
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import hashlib
import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from data_quality.contract import ENTITIES

log = logging.getLogger(__name__)

SUFFIXES = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",  # tab-separated, unquoted: Snowplow's enriched events
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
COMPRESSED = ".gz"  # text files as the trackers' exports write them: events.json.gz
STAGED = "_landing_in"  # temp table: _source_file, _source_row (1-based), the file's columns
FILE = "_source_file"
ROW = "_source_row"

Malformed = list[tuple[int, str, str]]  # (row number, reason, the raw line)


class LandingError(RuntimeError):
    """Landing cannot proceed; the message names the file, the column and an example."""


def file_kind(path: Path) -> str | None:
    """parquet, csv or jsonl by the file's suffix (a gzipped text file by the one before
    .gz); None for a file that is not a landing file."""
    suffixes = [x.lower() for x in path.suffixes[-2:]]
    if suffixes and suffixes[-1] == COMPRESSED:
        kind = SUFFIXES.get(suffixes[0]) if len(suffixes) == 2 else None
        return kind if kind in ("csv", "tsv", "jsonl") else None
    return SUFFIXES.get(suffixes[-1]) if suffixes else None


def _read_text(path: Path, encoding: str) -> str:
    if path.name.lower().endswith(COMPRESSED):
        try:
            with gzip.open(path, "rt", encoding=encoding) as fh:
                return fh.read()
        except (OSError, EOFError) as exc:  # not gzip, or cut short
            raise LandingError(f"{path}: not a whole gzip file ({exc})") from None
    return path.read_text(encoding=encoding)


def fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class FileRules:
    """Which landing files a sync reads now. A file another process may still be writing
    (a temporary name, or changed within `settle_seconds`) is deferred to a later run; a
    file no reader can parse is quarantined as a file (`unreadable: quarantine`) or stops
    the landing (`fail`). The pipeline builds them from the config (landing.*,
    quality.unreadable_files)."""

    in_flight_patterns: tuple[str, ...]
    settle_seconds: float
    unreadable: str  # "quarantine" | "fail"

    @classmethod
    def read_everything(cls) -> FileRules:
        """No file in flight, an unreadable file fails: a landing nobody writes to."""
        return cls((), 0.0, "fail")


Stat = tuple[int, int]  # (size in bytes, modification time in ns)


def stat_of(path: Path) -> Stat | None:
    try:
        st = path.stat()
    except FileNotFoundError:  # removed since it was found
        return None
    return st.st_size, st.st_mtime_ns


@dataclass
class Discovery:
    """The landing files a sync may read now, per entity, with their size and time when
    found; and the ones left for a later run, with the reason."""

    files: dict[str, list[Path]]
    stats: dict[Path, Stat]
    deferred: list[tuple[str, str, str]]  # (entity, source, reason)


# Hadoop's and Spark's mark of a folder written to the end: the files older than it are
# whole, and a run reads them at once, without waiting for landing.settle_seconds
COMPLETE_MARKER = "_SUCCESS"


def _looks_like_landing_file(name: str) -> bool:
    """An upload tool's temporary name still carries the file's own suffix somewhere
    (events.csv.tmp, .events.parquet.x7Gq2, events.csv._COPYING_)."""
    lower = name.lower()
    return any(suffix in lower for suffix in SUFFIXES)


def discover_files(landing: Path, rules: FileRules, now: float) -> Discovery:
    """Landing files per entity: <landing>/<entity>/**/*.{parquet,csv,jsonl} (CSV and
    JSON lines also gzipped, .gz). Folders
    starting with '_' or '.' (such as the generator's _truth) are ignored. `now`: the
    time (epoch seconds) the settle window counts back from. A file older than a
    `_SUCCESS` marker in its folder is whole, however recent."""
    landing = Path(landing)
    if not landing.is_dir():
        raise LandingError(f"landing directory not found: {landing}")
    found: dict[str, list[Path]] = {}
    stats: dict[Path, Stat] = {}
    markers: dict[Path, int] = {}  # folder -> its marker's time (ns), -1 without one
    deferred: list[tuple[str, str, str]] = []
    for name in ENTITIES:
        folder = landing / name
        if not folder.is_dir():
            continue
        found[name] = []
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder).parts
            if not p.is_file() or any(part.startswith((".", "_")) for part in rel[:-1]):
                continue
            source = p.relative_to(landing).as_posix()
            pattern = next((pat for pat in rules.in_flight_patterns
                            if fnmatch.fnmatchcase(p.name.lower(), pat.lower())), None)
            if pattern is not None:
                if _looks_like_landing_file(p.name):
                    deferred.append((name, source, f"in-flight name ({pattern})"))
                continue
            if file_kind(p) is None:
                continue
            stat = stat_of(p)
            if stat is None:
                continue
            if p.parent not in markers:
                marker = stat_of(p.parent / COMPLETE_MARKER)
                markers[p.parent] = marker[1] if marker else -1
            age = now - stat[1] / 1e9
            if age < rules.settle_seconds and markers[p.parent] < stat[1]:
                deferred.append((name, source, f"changed {max(age, 0):.0f} s ago (settles "
                                 f"after {rules.settle_seconds:g} s)"))
                continue
            found[name].append(p)
            stats[p] = stat
    unknown = [
        p.name
        for p in landing.iterdir()
        if p.is_dir() and p.name not in ENTITIES and not p.name.startswith(("_", "."))
    ]
    if unknown:
        log.warning("ignoring landing folders that are not in the contract: %s", unknown)
    if not any(found.values()) and not deferred:
        raise LandingError(
            f"{landing}: no landing files found; expected folders {sorted(ENTITIES)} "
            "holding .parquet, .csv, .tsv or .jsonl files"
        )
    return Discovery(found, stats, deferred)


def _read_csv(path: Path, tabs: bool = False, header: tuple[str, ...] = ()
              ) -> tuple[pd.DataFrame, Malformed]:
    """Rows as strings; rows with the wrong number of fields are returned apart. `tabs`:
    tab-separated with no quoting (a JSON field keeps its quotes); `header`: the column
    names of a file without a header line (its first line is a row)."""
    try:
        text = _read_text(path, "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LandingError(
            f"{path}: not valid UTF-8 (byte {exc.start}): re-export the file as UTF-8"
        ) from None
    # big fields are read, then quarantined as oversized_value with their row number
    csv.field_size_limit(max(csv.field_size_limit(), 64 << 20))
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tabs else {}
    reader = csv.reader(io.StringIO(text), **options)
    rows, numbers, bad = [], [], []
    separator = "\t" if tabs else ","
    try:
        names = list(header) or next(reader, None)
        if names is None:
            return pd.DataFrame(), []
        names = [h.strip() for h in names]
        for i, row in enumerate(reader, start=1):
            if not row:
                continue
            if len(row) != len(names):
                bad.append((i, "malformed_row", separator.join(row)))
            else:
                rows.append([v if v != "" else None for v in row])
                numbers.append(i)
    except csv.Error as exc:
        raise LandingError(f"{path}: not a readable CSV file (line {reader.line_num}: {exc})") \
            from None
    return pd.DataFrame(rows, columns=names, dtype=object, index=pd.Index(numbers)), bad


def _text(value) -> str | None:
    """A JSON value as the text DuckDB validates: objects and arrays as JSON."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)


def _read_jsonl(path: Path) -> tuple[pd.DataFrame, Malformed]:
    records, numbers, bad = [], [], []
    try:
        lines = _read_text(path, "utf-8").splitlines()
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
        records.append({k: _text(v) for k, v in rec.items()})
        numbers.append(i)
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    df.index = pd.Index(numbers)
    return df.astype(object), bad


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class LandingFile:
    path: Path
    source: str  # the path relative to the landing: the name rows and messages carry


def _parquet_signature(con: duckdb.DuckDBPyConnection, f: LandingFile) -> tuple:
    # a cursor of its own: a failed read must not abort the caller's transaction
    probe = con.cursor()
    try:  # the footer only
        return tuple(probe.execute("select name, type from parquet_schema(?) where name <> "
                                   "'schema' or num_children is null", [str(f.path)]).fetchall())
    except duckdb.Error as exc:  # truncated, empty or not Parquet at all
        first = str(exc).splitlines()[0]
        raise LandingError(f"{f.path}: unreadable Parquet file ({first})") from None
    finally:
        probe.close()


def _stage_parquet(con: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> None:
    con.execute("create or replace temp table _landing_names (path varchar, source varchar)")
    con.executemany("insert into _landing_names values (?, ?)",
                    [(str(f.path), f.source) for f in files])
    try:
        con.execute(
            f"create or replace temp table {STAGED} as select n.source as {FILE}, "
            f"p.file_row_number + 1 as {ROW}, p.* exclude (file_row_number, filename) "
            "from read_parquet(?, file_row_number = true, filename = true) as p "
            "join _landing_names as n on n.path = p.filename",
            [[str(f.path) for f in files]])
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise LandingError(f"{', '.join(f.source for f in files[:3])}: unreadable Parquet "
                           f"file ({first})") from None


def _stage_frames(con: duckdb.DuckDBPyConnection, frames: list[tuple[str, pd.DataFrame]]) -> None:
    parts = []
    for source, df in frames:
        frame = df.astype(object).where(df.notna(), None)
        frame.insert(0, ROW, df.index.astype("int64"))
        frame.insert(0, FILE, source)
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True)
    con.register("_landing_frame", frame)
    try:
        columns = [c for c in frame.columns if c not in (FILE, ROW)]
        casts = "".join(f", cast({quote(c)} as varchar) as {quote(c)}" for c in columns)
        con.execute(f"create or replace temp table {STAGED} as select "
                    f"cast({FILE} as varchar) as {FILE}, cast({ROW} as bigint) as {ROW}{casts} "
                    "from _landing_frame")
    finally:
        con.unregister("_landing_frame")


@dataclass
class Batch:
    """Files of one entity with the same columns, staged together in STAGED."""

    files: list[LandingFile]
    parquet: bool
    frames: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    malformed: list[tuple[str, int, str, str]] = field(default_factory=list)  # (file, ...)

    def stage(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """Load the rows into STAGED; returns the columns (name -> DuckDB type)."""
        if self.parquet:
            _stage_parquet(con, self.files)
        else:
            _stage_frames(con, self.frames)
        return {name: str(kind) for name, kind in con.execute(
            f"select column_name, column_type from (describe {STAGED})").fetchall()
            if name not in (FILE, ROW)}


def batches(con: duckdb.DuckDBPyConnection, files: list[LandingFile],
            tsv_header: tuple[str, ...] = ()
            ) -> tuple[list[Batch], list[tuple[LandingFile, str]]]:
    """Group one entity's files by format and columns, so that each group is validated by
    one query (a row's missing column must stay a missing column, not a NULL). Files that
    cannot be read at all are returned apart with the reason. `tsv_header`: the column
    names of headerless .tsv files (an export's fixed columns), none: a header line."""
    groups: dict[tuple, Batch] = {}
    unreadable: list[tuple[LandingFile, str]] = []
    for f in files:
        fmt = file_kind(f.path)
        try:
            if fmt == "parquet":
                key = ("parquet", _parquet_signature(con, f))
                groups.setdefault(key, Batch([], parquet=True)).files.append(f)
                continue
            if fmt == "jsonl":
                df, malformed = _read_jsonl(f.path)
            else:
                df, malformed = _read_csv(f.path, tabs=fmt == "tsv",
                                          header=tsv_header if fmt == "tsv" else ())
        except (LandingError, OSError) as exc:
            unreadable.append((f, _reason(exc, f)))
            continue
        batch = groups.setdefault(("text", tuple(df.columns)), Batch([], parquet=False))
        batch.files.append(f)
        batch.frames.append((f.source, df))
        batch.malformed += [(f.source, *m) for m in malformed]
    return list(groups.values()), unreadable


def _reason(exc: Exception, f: LandingFile) -> str:
    """The error's first line without the file's path (the record names the file)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for path in (f"{f.path}: ", f" '{f.path}'", f" {f.path}"):
        text = text.replace(path, "")
    return text


def unreadable_in(con: duckdb.DuckDBPyConnection, batch: Batch) -> list[tuple[LandingFile, str]]:
    """The files of a Parquet batch that fail to read alone (the batch failed as a whole:
    a footer can be whole and a data page broken). Read on a cursor of its own, since the
    caller's transaction has failed."""
    bad = []
    probe = con.cursor()
    try:
        for f in batch.files:
            try:
                probe.execute("select count(*) from read_parquet(?)", [str(f.path)]).fetchone()
            except duckdb.Error as exc:
                bad.append((f, _reason(LandingError(
                    f"unreadable Parquet file ({str(exc).splitlines()[0]})"), f)))
    finally:
        probe.close()
    return bad
