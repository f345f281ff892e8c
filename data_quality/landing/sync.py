"""Bring the warehouse's landing and raw tables in line with the landing directory.

landing.<entity> holds every valid row of every landed file, flagged `is_duplicate` when
an earlier copy of its key exists (by file, then row); raw.<entity> and raw.quarantine
are views over it, so events are stored once. A sync reads only new or changed files
and re-ranks only the keys those files touch: its cost follows the new files, not the
history. Everything happens in one transaction: on any error nothing is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from data_quality.contract import ENTITIES, Entity
from data_quality.landing import formats
from data_quality.landing.formats import EntityMapping
from data_quality.landing.read import (
    FILE,
    ROW,
    STAGED,
    FileRules,
    LandingError,
    LandingFile,
    batches,
    discover_files,
    fingerprint,
    quote,
    stat_of,
    unreadable_in,
)
from data_quality.landing.validate import (
    MAX_RECORD_CHARS,
    ValidationRules,
    literal,
    record_sql,
    timestamp_sql,
    validation_sql,
)

log = logging.getLogger(__name__)
DUPLICATE = "duplicate_key"
Mappings = Mapping[str, EntityMapping]  # entity -> how its files become the contract
ACTIVITY_TIME_COLUMNS = {"events": "event_time", "orders": "order_time"}


@dataclass
class SyncReport:
    run_id: str
    files_loaded: list[str] = field(default_factory=list)
    files_unchanged: int = 0
    rows_read: dict[str, int] = field(default_factory=dict)  # this sync, per entity
    rows_staged: dict[str, int] = field(default_factory=dict)  # totals in raw.*
    rows_quarantined: dict[str, int] = field(default_factory=dict)  # totals
    reasons: dict[str, int] = field(default_factory=dict)  # totals per reason
    # files not read: (entity, file, reason); deferred ones are read by a later run,
    # unreadable ones again when their content changes
    files_deferred: list[tuple[str, str, str]] = field(default_factory=list)
    files_unreadable: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BadRowLimit:
    """When a landing is refused. Duplicates (at-least-once delivery) are dropped and
    counted but never count as bad. A file is judged alone from `min_rows_per_file` rows
    on; a smaller file's rate says little, so when a run has one, its entity is judged
    over all of the run's files of that entity together."""

    max_rate: float = 0.05
    min_rows_per_file: int = 1000


def _is_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name = ? and table_type = 'BASE TABLE'", [schema, name]).fetchone()[0])


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create what is missing (outside the sync's transaction: empty tables are harmless)."""
    con.execute("create schema if not exists landing")
    con.execute("create schema if not exists raw")
    con.execute(
        """create table if not exists landing.files (
            entity varchar, source_file varchar primary key, fingerprint varchar,
            rows_read bigint, run_id varchar, loaded_at timestamptz)"""
    )
    con.execute(
        """create table if not exists landing.unreadable_files (
            entity varchar, source_file varchar primary key, fingerprint varchar,
            size_bytes bigint, reason varchar, run_id varchar, recorded_at timestamptz)"""
    )
    con.execute(  # the activity times each sync landed: which days' data changed, and when
        """create table if not exists landing.landed_ranges (
            run_id varchar, entity varchar, first_time timestamptz, last_time timestamptz,
            rows bigint, loaded_at timestamptz)"""
    )
    con.execute(
        """create table if not exists landing.deferred_files (
            entity varchar, source_file varchar, reason varchar, run_id varchar)"""
    )
    con.execute(
        """create table if not exists landing.rejects (
            entity varchar, source_file varchar, source_row bigint, reason varchar,
            column_name varchar, record varchar, run_id varchar)"""
    )
    for ent in ENTITIES.values():
        cols = ", ".join(f"{quote(c.name)} {ent.duckdb_type(c)}" for c in ent.columns)
        con.execute(
            f"""create table if not exists landing.{ent.name} (
                source_file varchar, source_row bigint, {cols}, extra varchar, run_id varchar,
                is_duplicate boolean default false)"""
        )


def _migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A warehouse from before the is_duplicate flag (raw tables were copies then): add the
    flag and drop the copies, in the sync's transaction; and the contract's newer
    columns. Returns the entities whose
    duplicates must be ranked anew."""
    rerank = []
    for ent in ENTITIES.values():
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = "
            "'landing' and table_name = ?", [ent.name]).fetchall()}
        if "is_duplicate" not in have:
            con.execute(f"alter table landing.{ent.name} add column is_duplicate boolean "
                        "default false")
            rerank.append(ent.name)
        for col in ent.columns:  # a column the contract gained since (events.anonymous_id)
            if col.name not in have:
                con.execute(f"alter table landing.{ent.name} add column {quote(col.name)} "
                            f"{ent.duckdb_type(col)}")
        if _is_table(con, "raw", ent.name):
            con.execute(f"drop table raw.{ent.name}")
    if _is_table(con, "raw", "quarantine"):
        con.execute("drop table raw.quarantine")
    return rerank


def _create_raw_views(con: duckdb.DuckDBPyConnection) -> None:
    dup_parts = []
    for ent in ENTITIES.values():
        cols = ", ".join(quote(c) for c in ent.column_names)
        packed = ", ".join(f"{quote(c)} := {quote(c)}" for c in ent.column_names)
        con.execute(
            f"create or replace view raw.{ent.name} as select {cols}, extra, source_file, "
            f"source_row, run_id from landing.{ent.name} where not is_duplicate"
        )
        dup_parts.append(
            f"select {literal(ent.name)} as entity, source_file, source_row, "
            f"'{DUPLICATE}' as reason, {literal('+'.join(ent.key))} as column_name, "
            f"cast(to_json(struct_pack({packed})) as varchar) as record, run_id "
            f"from landing.{ent.name} where is_duplicate"
        )
    con.execute(
        "create or replace view raw.quarantine as "
        "select entity, source_file, source_row, reason, column_name, record, run_id "
        "from landing.rejects union all " + " union all ".join(dup_parts)
    )


def _key_list(ent: Entity) -> str:
    return ", ".join(quote(k) for k in ent.key)


def _rank_duplicates(con: duckdb.DuckDBPyConnection, ent: Entity, everything: bool) -> None:
    """Re-flag the copies of the keys this sync touched (temp table _changed_keys): the
    first copy by (source_file, source_row) is the row, later ones are duplicates."""
    table, keys = f"landing.{ent.name}", _key_list(ent)
    scope = "" if everything else "semi join _changed_keys using (" + keys + ")"
    con.execute(f"create or replace temp table _dup_keys as select {keys} from {table} "
                f"{scope} group by all having count(*) > 1")
    # touched keys that had copies and have none left (a corrected file)
    match = " and ".join(f"d.{quote(k)} = t.{quote(k)}" for k in ent.key)
    touched = "" if everything else f"and exists (select 1 from _changed_keys d where {match})"
    con.execute(f"update {table} as t set is_duplicate = false where t.is_duplicate {touched} "
                f"and not exists (select 1 from _dup_keys d where {match})")
    con.execute(
        f"""update {table} as t set is_duplicate = r.copy > 1
            from (select source_file, source_row, row_number() over (
                      partition by {keys} order by source_file, source_row) as copy
                  from {table} semi join _dup_keys using ({keys})) as r
            where t.source_file = r.source_file and t.source_row = r.source_row
              and t.is_duplicate is distinct from (r.copy > 1)""")


class _Retry(Exception):  # noqa: N818 (a control signal, not an error)
    """Roll the sync back and run it again without these files: found unreadable only
    when staged, or changed while being read."""

    def __init__(self, unreadable: dict[str, str] | None = None,
                 deferred: dict[str, str] | None = None) -> None:
        super().__init__("retry")
        self.unreadable = unreadable or {}
        self.deferred = deferred or {}


def _land_files(con: duckdb.DuckDBPyConnection, ent: Entity, files: list[LandingFile],
                seen: set[str], rules: ValidationRules, run_id: str,
                unreadable: dict[str, str], mappings: Mappings) -> dict[str, int]:
    """Land new and changed files of one entity, a changed one in place of its earlier
    rows (`seen`): a few statements per batch of like files, whatever their number.
    Files that cannot be read go to `unreadable` (file -> reason) and keep their earlier
    rows. Returns the rows read per file."""
    table, keys = f"landing.{ent.name}", _key_list(ent)
    mapping = mappings.get(ent.name, EntityMapping())
    groups, bad = batches(con, files, mapping.tsv_header)
    unreadable.update({f.source: reason for f, reason in bad})
    replaced = [f.source for f in files if f.source in seen and f.source not in unreadable]
    if replaced:  # scans the table: only for changed files, never for new ones
        # the keys of their earlier rows are touched too: their first copy may move
        con.execute(f"insert into _changed_keys select {keys} from {table} "
                    "where source_file in (select unnest(?))", [replaced])
        for t in (table, "landing.rejects", "landing.files"):
            con.execute(f"delete from {t} where source_file in (select unnest(?))", [replaced])
    names = ", ".join(quote(c) for c in ent.column_names)
    read: dict[str, int] = {f.source: 0 for f in files if f.source not in unreadable}
    for batch in groups:
        try:
            columns = batch.stage(con)
        except LandingError:
            alone = unreadable_in(con, batch)
            if not alone:  # no one file is to blame
                raise
            raise _Retry(unreadable={f.source: reason for f, reason in alone}) from None
        raw, raw_columns, rows_from = STAGED, columns, STAGED
        if not mapping.is_identity or (ent.name == "events" and "event_id" not in columns):
            try:
                columns = formats.apply(con, ent.name, mapping, columns)
            except LandingError as exc:
                raise _Retry(unreadable={f.source: str(exc) for f in batch.files}) from None
            rows_from = formats.MAPPED
        con.execute(f"create or replace temp table _validated as "
                    f"{validation_sql(ent, columns, rules, rows_from)}")
        con.execute(
            f"insert into {table} (source_file, source_row, {names}, extra, run_id, "
            f"is_duplicate) select {FILE}, {ROW}, {names}, extra, ?, false from _validated "
            "where _reason is null", [run_id])
        con.execute(f"insert into _changed_keys select {keys} from _validated "
                    "where _reason is null")
        if ent.name in ACTIVITY_TIME_COLUMNS:
            t = quote(ACTIVITY_TIME_COLUMNS[ent.name])
            con.execute(f"insert into landing.landed_ranges select ?, ?, min({t}), max({t}), "
                        "count(*), now() from _validated where _reason is null "
                        "having count(*) > 0", [run_id, ent.name])
        con.execute(
            f"insert into landing.rejects select ?, v.{FILE}, v.{ROW}, v._reason, v._column, "
            f"{record_sql(raw_columns)}, ? from (select {FILE}, {ROW}, _reason, _column "
            f"from _validated where _reason is not null) as v join {raw} "
            f"using ({FILE}, {ROW})", [ent.name, run_id])
        if batch.malformed:
            con.executemany(
                "insert into landing.rejects values (?, ?, ?, ?, null, ?, ?)",
                [(ent.name, source, row, reason, line[:MAX_RECORD_CHARS], run_id)
                 for source, row, reason, line in batch.malformed])
        for source, n in con.execute(f"select {FILE}, count(*) from {STAGED} group by 1"
                                     ).fetchall():
            read[source] += n
        for source, *_ in batch.malformed:
            read[source] += 1
    return read


def _example(con: duckdb.DuckDBPyConnection, files: list[str]) -> str:
    reason, column, n, record, row, source_file = con.execute(
        f"""select reason, column_name, count(*) over (partition by reason, column_name) n,
                  record, source_row, source_file
           from landing.rejects
           where source_file in (select unnest(?)) and reason <> '{DUPLICATE}'
           order by n desc, source_file, source_row limit 1""",
        [files],
    ).fetchone()
    return (f"most common: {reason} in column {column!s} ({n} rows), "
            f"e.g. {source_file} row {row}: {record[:300]}")


def _check_bad_rate(con: duckdb.DuckDBPyConnection, files: list[str], limit: BadRowLimit) -> None:
    if not files:
        return
    # duplicates are never rejects (they are flagged in landing.<entity>), so
    # landing.rejects holds exactly the bad rows
    per_file = con.execute(
        """
        select f.entity, f.source_file, f.rows_read, count(r.source_row) as bad
        from landing.files f left join landing.rejects r using (source_file)
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


def _fill_totals(con: duckdb.DuckDBPyConnection, report: SyncReport) -> None:
    for name in ENTITIES:
        read, staged, duplicates = con.execute(
            f"""select (select coalesce(sum(rows_read), 0) from landing.files
                        where entity = $e),
                       count(*) filter (where not is_duplicate),
                       count(*) filter (where is_duplicate)
                from landing.{name}""", {"e": name}).fetchone()
        rejected = con.execute("select count(*) from landing.rejects where entity = ?",
                               [name]).fetchone()[0]
        quarantined = rejected + duplicates
        if read != staged + quarantined:  # the conservation invariant; a bug if it fires
            raise LandingError(
                f"{name}: rows read {read} != staged {staged} + quarantined {quarantined}"
            )
        report.rows_staged[name] = staged
        report.rows_quarantined[name] = quarantined
    reasons = dict(con.execute(
        "select reason, count(*) from landing.rejects group by 1").fetchall())
    dups = sum(report.rows_quarantined.values()) - sum(reasons.values())
    if dups:
        reasons[DUPLICATE] = dups
    report.reasons = dict(sorted(reasons.items()))


def sync_landing(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    rules: ValidationRules,
    run_id: str,
    max_bad_row_rate: float = 0.05,
    min_rows_per_file: int = 1000,
    files: FileRules | None = None,
    mappings: Mappings | None = None,
) -> SyncReport:
    """Bring the warehouse's raw tables in line with the landing directory.

    New or changed files replace their earlier rows; unchanged files are skipped. Files
    still being written are deferred and unreadable ones quarantined as files (`files`,
    default: read everything, an unreadable file fails). Everything happens in one
    transaction: on any error nothing is written. (The connection's time zone is set to
    UTC: naive times mean UTC.) `mappings`: per entity, how its files' columns become the
    contract's (formats.py; default: the files are in the contract's own shape).
    """
    files = files or FileRules.read_everything()
    found = discover_files(landing, files, time.time())
    con.execute("set TimeZone = 'UTC'")
    _ensure_tables(con)
    unreadable: dict[str, str] = {}  # found only when staged: kept across retries
    deferred = {source: (entity, reason) for entity, source, reason in found.deferred}
    # each retry leaves out at least one more file, so this ends
    for _ in range(sum(len(p) for p in found.files.values()) + 1):
        report = SyncReport(run_id=run_id)
        con.execute("begin transaction")
        try:
            _sync_once(con, landing, found, rules, run_id, report, unreadable, deferred,
                       files.unreadable, BadRowLimit(max_bad_row_rate, min_rows_per_file),
                       mappings or {})
            con.execute("commit")
            return report
        except _Retry as retry:
            con.execute("rollback")
            unreadable.update(retry.unreadable)
            for source, reason in retry.deferred.items():
                entity = source.split("/", 1)[0]
                deferred[source] = (entity, reason)
                log.warning("%s changed while it was read: left for the next run", source)
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            con.execute(f"drop view if exists {formats.MAPPED}")
            for temp in (STAGED, "_validated", "_changed_keys", "_dup_keys"):
                con.execute(f"drop table if exists {temp}")
    raise AssertionError("unreachable: every retry leaves out a file")


def _sync_once(con: duckdb.DuckDBPyConnection, landing: Path, found, rules: ValidationRules,
               run_id: str, report: SyncReport, unreadable: dict[str, str],
               deferred: dict[str, tuple[str, str]], on_unreadable: str,
               limit: BadRowLimit, mappings: Mappings) -> None:
    rerank = _migrate(con)
    known = dict(con.execute("select source_file, fingerprint from landing.files").fetchall())
    known_bad = dict(con.execute(
        "select source_file, fingerprint from landing.unreadable_files").fetchall())
    prints: dict[str, str] = {}
    read_now: dict[str, Path] = {}
    for entity_name, paths in found.files.items():
        entity = ENTITIES[entity_name]
        con.execute(f"create or replace temp table _changed_keys as select "
                    f"{_key_list(entity)} from landing.{entity_name} limit 0")
        todo = []
        for path in paths:
            source = path.relative_to(landing).as_posix()
            if source in deferred:
                continue
            prints[source] = fingerprint(path)
            if known.get(source) == prints[source]:
                report.files_unchanged += 1
            elif known_bad.get(source) == prints[source] and source not in unreadable:
                unreadable[source] = _recorded_reason(con, source)  # retried when it changes
            elif source not in unreadable:
                todo.append(LandingFile(path, source))
                read_now[source] = path
        if todo:
            read = _land_files(con, entity, todo, set(known), rules, run_id, unreadable,
                               mappings)
            if read:
                con.executemany("insert into landing.files values (?, ?, ?, ?, ?, now())",
                                [(entity_name, src, prints[src], n, run_id)
                                 for src, n in read.items()])
            report.files_loaded += list(read)
            report.rows_read[entity_name] = sum(read.values())
            log.info("landed %d %s files: %d rows", len(read), entity_name,
                     sum(read.values()))
        if todo or entity_name in rerank:
            _rank_duplicates(con, entity, everything=entity_name in rerank)
    for name in rerank:
        if name not in found.files:
            _rank_duplicates(con, ENTITIES[name], everything=True)
    if unreadable and on_unreadable == "fail":
        raise LandingError("unreadable landing files (quality.unreadable_files: fail): "
                           + "; ".join(f"{s}: {r}" for s, r in sorted(unreadable.items())))
    # a file that changed while it was read is left whole for the next run
    changed = {s: "changed while it was read" for s, p in read_now.items()
               if s not in unreadable and stat_of(p) != found.stats[p]}
    if changed:
        raise _Retry(deferred=changed)
    _record_files(con, landing, run_id, unreadable, deferred, prints, report)
    _create_raw_views(con)
    _check_bad_rate(con, report.files_loaded, limit)
    _fill_totals(con, report)


def _recorded_reason(con: duckdb.DuckDBPyConnection, source: str) -> str:
    return con.execute("select reason from landing.unreadable_files where source_file = ?",
                       [source]).fetchone()[0]


def _record_files(con: duckdb.DuckDBPyConnection, landing: Path, run_id: str,
                  unreadable: dict[str, str], deferred: dict[str, tuple[str, str]],
                  prints: dict[str, str], report: SyncReport) -> None:
    """landing.unreadable_files: the files unreadable now (a row keeps the run that first
    met this content); landing.deferred_files: this sync's deferred files."""
    con.execute("delete from landing.unreadable_files where source_file not in "
                "(select unnest(?::varchar[]))", [list(unreadable)])
    kept = {r[0] for r in con.execute("select source_file from landing.unreadable_files "
                                      "where source_file in (select unnest(?::varchar[]))",
                                      [list(unreadable)]).fetchall()}
    rows = []
    for source, reason in sorted(unreadable.items()):
        path = landing / source
        size = (stat_of(path) or (None,))[0]
        if source in kept:  # a new content: the run that met it, its reason
            con.execute("update landing.unreadable_files set fingerprint = ?, size_bytes = ?, "
                        "reason = ?, run_id = ?, recorded_at = now() where source_file = ? "
                        "and fingerprint <> ?",
                        [prints[source], size, reason, run_id, source, prints[source]])
        else:
            rows.append((source.split("/", 1)[0], source, prints[source], size, reason,
                         run_id))
    if rows:
        con.executemany("insert into landing.unreadable_files values (?, ?, ?, ?, ?, ?, now())",
                        rows)
    con.execute("delete from landing.deferred_files")
    if deferred:
        con.executemany("insert into landing.deferred_files values (?, ?, ?, ?)",
                        [(entity, source, reason, run_id)
                         for source, (entity, reason) in sorted(deferred.items())])
    report.files_unreadable = [(s.split("/", 1)[0], s, r) for s, r in sorted(unreadable.items())]
    report.files_deferred = [(e, s, r) for s, (e, r) in sorted(deferred.items())]
    for entity, source, reason in report.files_unreadable:
        log.warning("unreadable %s file %s quarantined: %s", entity, source, reason)
    if deferred:
        log.info("%d landing files deferred to a later run", len(deferred))


def landing_time_range(landing: Path, files: FileRules | None = None,
                       mappings: Mappings | None = None
                       ) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last parseable activity time (UTC) in the landing, or None.
    Used to choose a run's default day range; unparseable values are ignored
    here and quarantined by the landing itself. Parquet files in the contract's shape
    answer from their statistics; other files are read (and mapped, `mappings`)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    lo, hi = None, None
    mappings = mappings or {}
    try:
        found = discover_files(landing, files or FileRules.read_everything(), time.time())
        for entity, paths in found.files.items():
            column = ACTIVITY_TIME_COLUMNS.get(entity)
            if column is None:
                continue
            mapping = mappings.get(entity, EntityMapping())
            for path in paths:
                try:
                    parquet = path.suffix.lower() == ".parquet"
                    if parquet and not mapping.is_identity:
                        # the mapped time alone: DuckDB reads only the columns it names
                        span = _mapped_parquet_range(con, path, entity, mapping, column)
                    else:
                        if parquet:
                            columns = _parquet_columns(con, path)
                        else:
                            groups, _ = batches(con, [LandingFile(path, path.name)],
                                                mapping.tsv_header)
                            if not groups:
                                continue
                            columns = groups[0].stage(con)
                            if not mapping.is_identity:
                                columns = formats.apply(con, entity, mapping, columns)
                        if column not in columns:
                            continue
                        source = (f"read_parquet({literal(str(path))})" if parquet else
                                  STAGED if mapping.is_identity else formats.MAPPED)
                        span = _range_of(con, column, columns[column], source)
                except (LandingError, duckdb.Error):
                    continue
                if span is None:
                    continue
                first, last = span
                lo = first if lo is None else min(lo, first)
                hi = last if hi is None else max(hi, last)
    finally:
        con.close()
    return None if lo is None else (pd.Timestamp(lo), pd.Timestamp(hi))


def _range_of(con: duckdb.DuckDBPyConnection, column: str, kind: str, source: str
              ) -> tuple | None:
    """First and last parseable time of `column` (DuckDB type `kind`) in `source`."""
    ts = timestamp_sql(column, kind, f"cast({quote(column)} as varchar)")
    first, last = con.execute(f"select min(t), max(t) from (select {ts} as t from {source}) "
                              "where isfinite(t)").fetchone()
    return None if first is None else (first, last)


def _mapped_parquet_range(con: duckdb.DuckDBPyConnection, path: Path, entity: str,
                          mapping: EntityMapping, column: str) -> tuple | None:
    """The time range of a mapped Parquet file from its time column's expression alone
    (DuckDB reads only the columns it names); the whole file staged and mapped when the
    expression needs more (a nested column read typed, a column the file lacks)."""
    expr = mapping.columns.get(column, quote(column))
    source = f"(select {expr} as {quote(column)} from read_parquet({literal(str(path))}))"
    try:
        kind = con.execute(f"select typeof({quote(column)}) from {source} limit 1").fetchone()
        return None if kind is None else _range_of(con, column, kind[0], source)
    except duckdb.Error:
        pass
    groups, _ = batches(con, [LandingFile(path, path.name)], mapping.tsv_header)
    if not groups:
        return None
    columns = formats.apply(con, entity, mapping, groups[0].stage(con))
    return (_range_of(con, column, columns[column], formats.MAPPED) if column in columns
            else None)


def _parquet_columns(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    rows = con.execute("select column_name, column_type from (describe select * from "
                       "read_parquet(?))", [str(path)]).fetchall()
    return {name: str(kind) for name, kind in rows}
