"""Publish the marts for BI: Parquet files plus a serving DuckDB file that holds the tables.

BI tools never open the live warehouse (one writer; readers fail while it writes). Each
publish writes every `marts` table as Parquet into a new folder `runs/<stamp>/` (for
tools that read files), then a new serving file holding the same tables, and swaps it in
with `os.replace` (atomic on POSIX). The serving file reads no path: a copy of the
serving folder mounted anywhere (a BI container, a synced host) answers the same. A
reader that has the old file open keeps reading it; a reader that opens the file gets the
old or the new run, never a mix. The last `keep` run folders stay.

A marts *view* (a daily series over a table stored by change, such as
`fct_user_lifecycle_daily` over `fct_user_lifecycle_spans`) is published as the same view
over the published tables when it reads only marts tables, so a publish writes its source
rows, not its expansion; any other view, and every view of a Spark warehouse (whose SQL is
Spark's), is written out as Parquet like a table. Either engine's marts end up as Parquet
files and one serving DuckDB file: BI reads the same thing whatever built it.

Personal user attributes (config `privacy.personal_attributes`) are hashed with a salt or
dropped from `dim_users.attributes` before anything is written here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.warehouse import Warehouse

log = logging.getLogger(__name__)

SERVING_FILE = "serving.duckdb"
REPORT_FILE = "report.html"
SALT_ENV = "USEROPS_PII_SALT"


class PublishError(RuntimeError):
    """Publishing cannot go ahead; the message says why."""


@dataclass(frozen=True)
class Privacy:
    personal_attributes: tuple[str, ...] = ()
    mode: str = "hash"  # hash | drop
    salt: str | None = None


@dataclass(frozen=True)
class Published:
    stamp: str
    run_dir: Path
    serving_file: Path
    rows: dict[str, int]


def protect_attributes(attributes: pd.Series, privacy: Privacy) -> pd.Series:
    """Hash (sha256 of salt + value) or drop the personal keys of JSON attribute objects."""
    if not privacy.personal_attributes:
        return attributes
    if privacy.mode == "hash" and not privacy.salt:
        raise PublishError(
            f"privacy.mode is hash but {SALT_ENV} is not set: an unsalted hash of an e-mail "
            "address can be reversed by guessing; set the salt or use mode drop"
        )
    personal = set(privacy.personal_attributes)

    def one(text):
        if text is None or (isinstance(text, float) and pd.isna(text)):
            return None
        record = json.loads(text)
        for key in personal & set(record):
            if privacy.mode == "drop":
                record.pop(key)
            elif record[key] is not None:
                digest = hashlib.sha256(f"{privacy.salt}{record[key]}".encode()).hexdigest()
                record[key] = digest
        return json.dumps(record, sort_keys=True)

    return attributes.map(one).astype(object)


def _portable_views(views: dict[str, str], folder: Path, tables: list[str]) -> dict[str, str]:
    """The views that can be rebuilt over the Parquet files of `tables` in `folder`:
    tried in a scratch connection, in dependency order (a view may read another)."""
    scratch = duckdb.connect()
    try:
        scratch.execute("create schema marts")
        for table in tables:
            path = str(folder / f"{table}.parquet").replace("'", "''")
            scratch.execute(f"create view marts.{table} as select * from read_parquet('{path}')")
        portable: dict[str, str] = {}
        pending = dict(views)
        while pending:
            progressed = False
            for name, sql in list(pending.items()):
                try:
                    scratch.execute(sql)
                except duckdb.Error:
                    continue
                portable[name] = pending.pop(name)
                progressed = True
            if not progressed:
                break
        return portable
    finally:
        scratch.close()


def publish(
    warehouse: Warehouse,
    serving_dir: Path,
    stamp: str,
    privacy: Privacy = Privacy(),
    keep: int = 3,
    extras: Path | None = None,
) -> Published:
    """Write every marts table of `warehouse` as Parquet and swap in a serving file of
    views. `extras`: a folder of files that join the run folder (the report), whose
    report.html also becomes serving_dir/report.html."""
    serving_dir = Path(serving_dir).absolute()
    runs = serving_dir / "runs"
    run_dir = runs / stamp
    partial = runs / f".{stamp}.partial"
    if run_dir.exists():
        raise PublishError(f"{run_dir} exists already: stamps must be unique per publish")
    shutil.rmtree(partial, ignore_errors=True)  # left over by a killed publish
    partial.mkdir(parents=True)
    rows: dict[str, int] = {}
    reads: dict[str, str] = {}  # name -> the path the serving view reads, under partial
    relations = warehouse.relations("marts")
    views = {name: sql for name, sql in relations.items() if sql is not None}
    tables = [name for name in relations if name not in views]
    for table in tables:
        target = partial / f"{table}.parquet"
        if table == "dim_users" and privacy.personal_attributes:
            frame = warehouse.query("select * from marts.dim_users")
            frame["attributes"] = protect_attributes(frame["attributes"], privacy)
            rows[table], reads[table] = _write_frame(frame, target), str(target)
        else:
            rows[table], reads[table] = warehouse.export_parquet(f"marts.{table}", target)
    # DuckDB's view SQL can be rebuilt over the published files; another engine's is
    # another dialect, so its views are written out as data
    portable = _portable_views(views, partial, tables) if warehouse.duckdb_views else {}
    for view in views:
        if view in portable:  # its rows, counted without writing them
            rows[view] = int(warehouse.scalar(f"select count(*) from marts.{view}"))
        else:
            rows[view], reads[view] = warehouse.export_parquet(
                f"marts.{view}", partial / f"{view}.parquet")
    if extras is not None and extras.is_dir():
        for extra in sorted(extras.iterdir()):
            shutil.move(extra, partial / extra.name)
        shutil.rmtree(extras, ignore_errors=True)
    (partial / "manifest.json").write_text(json.dumps({"stamp": stamp, "rows": rows}, indent=2))
    partial.rename(run_dir)  # the folder appears complete or not at all

    tmp_file = serving_dir / f".{stamp}.{SERVING_FILE}"
    tmp_file.unlink(missing_ok=True)
    serving = duckdb.connect(str(tmp_file))
    try:
        serving.execute("create schema marts")
        # the tables themselves, not views over the Parquet files' paths: a copy of the
        # serving folder mounted at another path (a BI container) reads the same
        for name, read in reads.items():
            path = str(run_dir / Path(read).relative_to(partial)).replace("'", "''")
            serving.execute(f"create table marts.{name} as select * from read_parquet('{path}')")
        for sql in portable.values():  # in the order they were built: dependencies first
            serving.execute(sql)
        serving.execute(  # run_dir relative to the serving folder, wherever it is mounted
            "create table publish_info as select ? as stamp, ? as run_dir, now() as published_at",
            [stamp, run_dir.relative_to(serving_dir).as_posix()],
        )
        serving.execute("checkpoint")
    finally:
        serving.close()
    final = serving_dir / SERVING_FILE
    os.replace(tmp_file, final)
    if (run_dir / REPORT_FILE).exists():  # the latest report, swapped in whole
        shutil.copyfile(run_dir / REPORT_FILE, serving_dir / f".{REPORT_FILE}.partial")
        os.replace(serving_dir / f".{REPORT_FILE}.partial", serving_dir / REPORT_FILE)
    _prune(runs, keep)
    log.info("published %d tables (%s) to %s", len(rows), stamp, final)
    return Published(stamp, run_dir, final, rows)


def _write_frame(frame: pd.DataFrame, target: Path) -> int:
    """A pandas frame as one Parquet file (written by DuckDB, as the tables are)."""
    con = duckdb.connect()
    try:
        con.register("_frame", frame)
        path = str(target).replace("'", "''")
        return int(con.execute(f"copy (select * from _frame) to '{path}' (format parquet)"
                               ).fetchall()[0][0])
    finally:
        con.close()


def _prune(runs: Path, keep: int) -> None:
    done = sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in done[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
