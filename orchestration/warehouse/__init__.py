"""The warehouse as the Python side sees it, on either engine.

Everything Python reads from or writes to the warehouse (scores, run records, the run
window, fitted models, quality samples, the publish) goes through a `Warehouse`: DuckDB
(`duck.py`, the embedded default) or Spark (`spark.py`, when one machine is not enough).
The SQL passed to `query`, `scalar` and `execute` is the common subset of both dialects
(`?` parameters, unquoted identifiers); what differs (hashing, sampling, table writes) is a
method here. The landing keeps its state in a DuckDB file on either engine (`connect`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

ENGINES = ("duckdb", "spark")

# DuckDB files this process keeps open for a run (Warehouse.held): path -> [connection,
# depth of nested holds]
_HELD: dict[str, list] = {}
_HELD_LOCK = threading.Lock()


class Warehouse(ABC):
    engine: str

    def __init__(self, path: str, memory_limit: str) -> None:
        self.path = path  # the DuckDB file: the warehouse itself, or the landing state
        self.memory_limit = memory_limit

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the DuckDB file open in this process for the block (a run). Opening the file
        reads its catalog and closing its last connection checkpoints it: ~40 ms each
        time, and a run connects some 250 times. While held, `connect` joins the open
        database (DuckDB's instance cache, as in-process dbt does) in well under 1 ms.
        Other processes cannot open the file meanwhile, as while any run writes it."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with _HELD_LOCK:
            entry = _HELD.get(self.path)
            if entry is None:
                entry = _HELD[self.path] = [duckdb.connect(self.path), 0]
            entry[1] += 1
        try:
            yield
        finally:
            with _HELD_LOCK:
                entry[1] -= 1
                if entry[1] == 0:
                    del _HELD[self.path]
                    entry[0].close()  # the last connection: DuckDB checkpoints here

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The DuckDB file at `path`: the whole warehouse on DuckDB; on Spark the landing's
        state (files seen, validated rows, quarantine) before it reaches the lake.
        `read_only` applies when the file is not held (a held file is open read-write)."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # no connect-time config, as dbt-duckdb connects: a connection of this process then
        # shares dbt's open database (in-process dbt) instead of failing on a config clash
        con = duckdb.connect(self.path, read_only=read_only and self.path not in _HELD)
        try:
            con.execute(f"set memory_limit = '{self.memory_limit}'")
            yield con
        finally:
            con.close()

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Rows of a SELECT as a DataFrame."""

    @abstractmethod
    def row(self, sql: str, params: Sequence[Any] | None = None) -> tuple | None:
        """The first row of a SELECT as Python values (dates as datetime.date), or None."""

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        found = self.row(sql, params)
        return None if found is None else found[0]

    @abstractmethod
    def execute(self, sql: str) -> None:
        """A statement without result (DDL)."""

    @abstractmethod
    def replace(self, table: str, frame: pd.DataFrame,
                dates: Sequence[str] = ("snapshot_date",)) -> None:
        """Replace `table` with `frame`; columns named in `dates` are stored as DATE."""

    @abstractmethod
    def upsert(self, table: str, frame: pd.DataFrame, keys: Sequence[str],
               columns: Mapping[str, str]) -> None:
        """Keep a history table: rows of `frame` replace the rows with the same `keys`,
        other rows stay; `columns` (name -> SQL type) is its schema, new columns are added
        to an existing table."""

    @abstractmethod
    def columns(self, table: str) -> dict[str, str]:
        """Column name -> type (DuckDB's names: DOUBLE, BIGINT, VARCHAR, ...); {} when the
        table does not exist."""

    def exists(self, table: str) -> bool:
        return bool(self.columns(table))

    @abstractmethod
    def relations(self, schema: str) -> dict[str, str | None]:
        """The tables and views of `schema`: name -> the view's SQL, None for a table."""

    @abstractmethod
    def export_parquet(self, relation: str, target: Path) -> tuple[int, str]:
        """Write the rows of `relation` as Parquet at `target` (a file, or a folder of
        files); returns the rows written and the path a reader globs to read them."""

    def create_view(self, name: str, columns: Sequence[str], parquet_folder: Path) -> None:
        """A view `name` of `columns` over the Parquet files under `parquet_folder` (the
        landing's lake)."""
        raise NotImplementedError(f"{self.engine} reads the landing's own tables")

    @abstractmethod
    def hash_sql(self, expressions: Sequence[str]) -> str:
        """A 64-bit hash of the expressions, as SQL."""

    def fingerprint(self, relation: str, columns: Sequence[str], where: str) -> tuple[int, str]:
        """Count and order-free hash (bit_xor of row hashes) of the rows of `relation` that
        match `where`. Doubles are rounded to 1e-9 first: a sum that differs in its last
        bit between two runs is the same number."""
        types = self.columns(relation)
        missing = [c for c in columns if c not in types]
        if missing:
            raise ValueError(f"{relation} has no columns {missing}")
        parts = [f"round({c}, 9)" if types[c] in ("DOUBLE", "FLOAT") else c for c in columns]
        count, digest = self.row(f"select count(*), coalesce(bit_xor({self.hash_sql(parts)}), 0) "
                                 f"from {relation} where {where}")
        return int(count), str(digest)

    @abstractmethod
    def sample_sql(self, select: str, rows: int) -> str:
        """At most `rows` rows of `select`, the same rows every time (a fixed seed)."""

