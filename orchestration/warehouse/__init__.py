"""The warehouse as the Python side sees it, on either engine.

Everything Python reads from or writes to the warehouse (scores, run records, the run
window, fitted models, quality samples, the publish) goes through a `Warehouse`: DuckDB
(`duck.py`, the embedded default) or Spark (`spark.py`, when one machine is not enough).
The SQL passed to `query`, `scalar` and `execute` is the common subset of both dialects
(`?` parameters, unquoted identifiers); what differs (hashing, sampling, table writes) is a
method here. The pipeline's own state (the landing's validated rows, the run ledger) is a
DuckDB file on either engine: `Warehouse.store` (store.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.warehouse.store import StateStore

ENGINES = ("duckdb", "spark")


class Warehouse(ABC):
    """The engine's warehouse. `store` is the pipeline's own state (store.py): the same
    DuckDB file on DuckDB, a file of its own on Spark."""

    engine: str
    duckdb_views: bool  # its views' SQL is DuckDB's: the serving file can keep them as views

    def __init__(self, path: str, memory_limit: str) -> None:
        self.path = path  # the DuckDB file of the state store (and on DuckDB, the warehouse)
        self.store = StateStore(path, memory_limit)

    @abstractmethod
    def receive_landing(self, con: duckdb.DuckDBPyConnection) -> str | None:
        """Make the landing's validated rows (raw.* of the state store, open as `con`)
        readable by the engine; what was done, to log, or None when nothing was needed."""

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

