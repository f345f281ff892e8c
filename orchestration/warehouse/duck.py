"""The warehouse on DuckDB: one file, one connection per call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.warehouse import Warehouse


def _select(frame: pd.DataFrame, dates: Sequence[str]) -> str:
    """Columns named in `dates` as DATE; an object column without a value (an empty
    score table) as VARCHAR, where DuckDB would give it the type NULL."""
    casts = [f'cast("{c}" as date) as "{c}"' for c in dates if c in frame.columns]
    casts += [f'cast("{c}" as varchar) as "{c}"' for c in frame.columns
              if c not in dates and frame[c].dtype == object and frame[c].isna().all()]
    return (f"select * replace ({', '.join(casts)}) from _frame" if casts
            else "select * from _frame")


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame,
                  dates: Sequence[str] = ("snapshot_date",)) -> None:
    """Replace `table` with `frame` in one transaction (readers see old or new, never half).
    Columns named in `dates` are stored as DATE."""
    con.execute(f"create schema if not exists {table.split('.')[0]}")
    con.register("_frame", frame)
    try:
        con.execute("begin transaction")
        con.execute(f"create or replace table {table} as {_select(frame, dates)}")
        con.execute("commit")
    finally:
        con.unregister("_frame")


def upsert_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame,
                keys: Sequence[str], columns: Mapping[str, str]) -> None:
    """Warehouse.upsert in one transaction."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: rows lack columns {missing}")
    typed = ", ".join(f'cast(f."{c}" as {t}) as "{c}"' for c, t in columns.items())
    con.execute(f"create schema if not exists {table.split('.')[0]}")
    con.register("_frame", frame)
    try:
        con.execute("begin transaction")
        ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
        con.execute(f"create table if not exists {table} ({ddl})")
        schema, name = table.split(".")
        have = {r[0] for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?", [schema, name]).fetchall()}
        for column, column_type in columns.items():
            if column not in have:
                con.execute(f'alter table {table} add column "{column}" {column_type}')
        con.execute(f"create temp table _rows as select {typed} from _frame as f")
        match = " and ".join(f't."{k}" is not distinct from r."{k}"' for k in keys)
        con.execute(f"delete from {table} as t where exists (select 1 from _rows as r "
                    f"where {match})")
        names = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"insert into {table} ({names}) select {names} from _rows")
        con.execute("drop table _rows")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_frame")


class DuckDBWarehouse(Warehouse):
    engine = "duckdb"
    duckdb_views = True

    def receive_landing(self, con: duckdb.DuckDBPyConnection) -> None:
        return None  # the models read raw.* where the landing wrote them: the same file

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        with self.store.connect() as con:
            return con.execute(sql, params).df()

    def row(self, sql: str, params: Sequence[Any] | None = None) -> tuple | None:
        with self.store.connect() as con:
            return con.execute(sql, params).fetchone()

    def execute(self, sql: str) -> None:
        with self.store.connect() as con:
            con.execute(sql)

    def replace(self, table: str, frame: pd.DataFrame,
                dates: Sequence[str] = ("snapshot_date",)) -> None:
        with self.store.connect() as con:
            replace_table(con, table, frame, dates)

    def upsert(self, table: str, frame: pd.DataFrame, keys: Sequence[str],
               columns: Mapping[str, str]) -> None:
        with self.store.connect() as con:
            upsert_rows(con, table, frame, keys, columns)

    def columns(self, table: str) -> dict[str, str]:
        schema, name = table.split(".")
        with self.store.connect() as con:
            return dict(con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name]).fetchall())

    def relations(self, schema: str) -> dict[str, str | None]:
        with self.store.connect() as con:
            tables = [r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name", [schema]).fetchall()]
            # DuckDB keeps a view's SQL with its references as written (`marts.x`)
            views = dict(con.execute(
                "select view_name, sql from duckdb_views() where schema_name = ? "
                "and not internal", [schema]).fetchall())
        return {name: views.get(name) for name in tables}

    def export_parquet(self, relation: str, target: Path) -> tuple[int, str]:
        path = str(target).replace("'", "''")
        with self.store.connect() as con:
            # COPY returns the number of rows it wrote: no second scan to count them
            rows = con.execute(f"copy (select * from {relation}) to '{path}' "
                               "(format parquet)").fetchall()[0][0]
        return int(rows), str(target)

    def hash_sql(self, expressions: Sequence[str]) -> str:
        return f"hash({', '.join(expressions)})"

    def sample_sql(self, select: str, rows: int) -> str:
        return f"select * from ({select}) using sample reservoir({rows} rows) repeatable (7)"
