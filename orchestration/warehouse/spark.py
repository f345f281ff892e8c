"""The warehouse on Apache Spark (config warehouse.engine: spark).

One SparkSession per process, shared with dbt: dbt-spark's `session` method calls
`SparkSession.builder.enableHiveSupport().getOrCreate()`, which returns the session built
here with the warehouse's settings (its own warehouse folder and metastore next to the
DuckDB file, or a cluster's). The Python side reads with Spark SQL into pandas (per-user
rows, never raw events) and writes small tables back as Parquet tables. pyspark is an
optional dependency (`uv sync --extra spark`), imported only here.

Differences from DuckDB, by design: a table replaced with `replace` is written by Spark's
`saveAsTable(mode=overwrite)`, which a concurrent reader may see half-way (the warehouse
pool runs one writer at a time, and BI reads the published files, never the warehouse).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from data_quality.landing.lake import PART_OF, export_lake
from orchestration.warehouse import Warehouse

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType

log = logging.getLogger(__name__)

# The SQL types of history tables (Warehouse.upsert) in Spark's words.
SQL_TO_SPARK = {"varchar": "string", "date": "date", "bigint": "bigint", "double": "double",
                "timestamptz": "timestamp", "timestamp": "timestamp", "blob": "binary",
                "boolean": "boolean", "integer": "int"}


def lake_dir(warehouse: Path) -> Path:
    """The Parquet lake of validated landing rows that an engine other than the landing's
    own DuckDB file reads (data_quality/landing/lake.py): beside the state file."""
    return warehouse.parent / f"{warehouse.stem}.lake"


def spark_dir(warehouse: Path) -> Path:
    """The folder of a local Spark warehouse: beside the DuckDB file of the landing state,
    named after it (data/warehouse.duckdb -> data/warehouse.spark/)."""
    return warehouse.parent / f"{warehouse.stem}.spark"


# Spark SQL settings the results depend on, for every session of the pipeline: a local
# one, a Spark Connect one (the Python assets on a cluster) and dbt's (profiles.yml,
# server_side_parameters, the same values; tests/test_warehouse.py keeps them equal)
SQL_CONF = {
    # naive timestamps are UTC, as everywhere in this project
    "spark.sql.session.timeZone": "UTC",
    # an insert_overwrite replaces the days it writes, not the table
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    # Parquet timestamps as UTC instants (not INT96), read back as zoned by DuckDB
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def session_conf(warehouse: Path, master: str, driver_memory: str,
                 extra: Mapping[str, str], remote: str | None = None) -> dict[str, str]:
    """The SparkSession's settings. `remote`: a Spark Connect URL (a cluster: its own
    warehouse and metastore); else a session in this process with its warehouse folder and
    Derby metastore in spark_dir."""
    if remote:
        return {"spark.remote": remote, **SQL_CONF, **extra}
    root = spark_dir(warehouse).absolute()
    return {
        "spark.master": master,
        "spark.driver.memory": driver_memory,
        "spark.app.name": "userops",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(root / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={root / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
        # a laptop-sized default; a cluster sets its own
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **SQL_CONF,
        **extra,
    }


def spark_session(conf: Mapping[str, str]) -> SparkSession:
    """This process's SparkSession, built with `conf` the first time."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder
    if "spark.remote" in conf:
        builder = builder.remote(conf["spark.remote"])
        conf = {k: v for k, v in conf.items() if k != "spark.remote"}
    for key, value in conf.items():
        builder = builder.config(key, value)
    if "spark.master" in conf:
        builder = builder.enableHiveSupport()
        Path(conf["spark.sql.warehouse.dir"]).parent.mkdir(parents=True, exist_ok=True)
    session = builder.getOrCreate()
    if "spark.master" in conf:  # Spark's own INFO and WARN lines would drown the run's
        session.sparkContext.setLogLevel("ERROR")
    log.info("Spark %s session started (%s)", session.version, conf.get("spark.master", "remote"))
    return session


# the schema-qualified tables a statement reads (this project's SQL always qualifies them)
_READS = re.compile(r"\b(?:from|join)\s+`?([A-Za-z_]\w*)`?\.`?([A-Za-z_]\w*)`?", re.IGNORECASE)


class SparkWarehouse(Warehouse):
    engine = "spark"
    duckdb_views = False

    def __init__(self, path: str, memory_limit: str, conf: Mapping[str, str]) -> None:
        super().__init__(path, memory_limit)
        self.conf = dict(conf)

    @property
    def spark(self) -> SparkSession:
        return spark_session(self.conf)

    @property
    def remote(self) -> bool:
        """A Spark Connect session: dbt writes through other sessions (a Thrift server's)."""
        return "spark.remote" in self.conf

    def _fresh(self, tables: Iterable[str]) -> None:
        """On Spark Connect, this session caches a table's file listing; once dbt has
        rewritten the table through its own session, the listing names deleted files. So
        each table is refreshed before it is read. A local session is dbt's own: never stale."""
        if not self.remote:
            return
        from pyspark.errors import AnalysisException

        for table in tables:
            # no such table (yet): the read itself will say so
            with contextlib.suppress(AnalysisException):
                self.spark.sql(f"refresh table {table}")

    def _sql(self, sql: str, params: Sequence[Any] | None = None) -> DataFrame:
        if self.remote:  # a local session never needs it: no scan of the SQL for it
            self._fresh({f"{schema}.{table}" for schema, table in _READS.findall(sql)})
        return self.spark.sql(sql, args=list(params)) if params else self.spark.sql(sql)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        frame = self._sql(sql, params).toPandas()
        # Spark Connect hangs its query metrics on the frame's attrs, which pandas then
        # writes into any Parquet file of it as JSON (and fails: they are objects)
        frame.attrs.clear()
        return frame

    def row(self, sql: str, params: Sequence[Any] | None = None) -> tuple | None:
        rows = self._sql(sql, params).take(1)
        return tuple(rows[0]) if rows else None

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def replace(self, table: str, frame: pd.DataFrame,
                dates: Sequence[str] = ("snapshot_date",)) -> None:
        self._write(table, self.to_spark(frame, dates))

    def upsert(self, table: str, frame: pd.DataFrame, keys: Sequence[str],
               columns: Mapping[str, str]) -> None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{table}: rows lack columns {missing}")
        rows = frame[list(columns)]
        if self.exists(table):  # history tables are small: merged in pandas
            old = self.query(f"select * from {table}")
            for column in columns:
                if column not in old.columns:
                    old[column] = None
            old = old[list(columns)]
            stale = old.set_index(list(keys)).index.isin(rows.set_index(list(keys)).index)
            rows = pd.concat([old[~stale], rows], ignore_index=True)
        # a bigint column with nulls comes back from pandas as float: whole numbers again
        for column, sql_type in columns.items():
            if sql_type.lower() == "bigint":
                rows[column] = pd.to_numeric(rows[column]).astype("Int64")
        schema = ", ".join(f"`{c}` {SQL_TO_SPARK[t.lower()]}" for c, t in columns.items())
        self._write(table, self.spark.createDataFrame(_records(rows), schema=schema))

    def _write(self, table: str, frame: DataFrame) -> None:
        self.spark.sql(f"create database if not exists {table.split('.')[0]}")
        frame.write.mode("overwrite").format("parquet").saveAsTable(table)

    def to_spark(self, frame: pd.DataFrame, dates: Sequence[str] = ()) -> DataFrame:
        """A pandas frame as a Spark DataFrame with an explicit schema (inference fails on
        all-null columns); columns named in `dates` as DATE."""
        from pyspark.sql import types as T

        fields = [T.StructField(str(c), T.DateType() if c in dates else _spark_type(frame[c]))
                  for c in frame.columns]
        return self.spark.createDataFrame(_records(frame, dates), schema=T.StructType(fields))

    def columns(self, table: str) -> dict[str, str]:
        if not self.spark.catalog.tableExists(table):
            return {}
        self._fresh([table])
        return {f.name: _duck_type(f.dataType) for f in self.spark.table(table).schema.fields}

    def relations(self, schema: str) -> dict[str, str | None]:
        if not self.spark.catalog.databaseExists(schema):
            return {}
        found = self.spark.catalog.listTables(schema)
        # a view's SQL is Spark's dialect: the publish writes views out as data
        return {t.name: ("" if t.tableType == "VIEW" else None)
                for t in sorted(found, key=lambda t: t.name) if not t.isTemporary}

    def export_parquet(self, relation: str, target: Path) -> tuple[int, str]:
        self._fresh([relation])
        frame = self.spark.table(relation)
        frame.write.mode("overwrite").parquet(str(target))
        rows = self.spark.read.parquet(str(target)).count()
        return rows, str(target / "*.parquet")

    def receive_landing(self, con: duckdb.DuckDBPyConnection) -> str:
        """The validated rows as a Parquet lake beside the state file, read through views
        raw.* (data_quality/landing/lake.py: parts rewritten only when their rows change)."""
        lake = lake_dir(Path(self.path))
        exported = export_lake(con, lake)
        for table in PART_OF:
            names = [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]
            self._create_view(f"raw.{table}", names, lake / table)
        return f"lake {lake}: parts written {exported.written}"

    def _create_view(self, name: str, columns: Sequence[str], parquet_folder: Path) -> None:
        self.spark.sql(f"create database if not exists {name.split('.')[0]}")
        cols = ", ".join(f"`{c}`" for c in columns)
        self.spark.sql(f"create or replace view {name} as select {cols} "
                       f"from parquet.`{parquet_folder.absolute()}`")

    def hash_sql(self, expressions: Sequence[str]) -> str:
        return f"xxhash64({', '.join(expressions)})"

    def sample_sql(self, select: str, rows: int) -> str:
        # a fixed-seed sample that does not depend on how Spark splits the rows
        return (f"select * from (select *, xxhash64(*) as _sample_key from ({select})) "
                f"order by _sample_key limit {int(rows)}")


def _records(frame: pd.DataFrame, dates: Sequence[str] = ()) -> list[tuple]:
    """Rows as Python values (NaN and NaT as None, dates as datetime.date, timestamps as
    datetime.datetime, numpy scalars as Python's), which Spark's row converter accepts."""
    columns = []
    for name in frame.columns:
        values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
        convert = _as_date if name in dates else _python
        columns.append([convert(v) for v in values])
    return list(zip(*columns, strict=True)) if columns else []


def _python(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") and not isinstance(value, bytes) else value


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _spark_type(series: pd.Series) -> DataType:
    from pyspark.sql import types as T

    kind = series.dtype.kind
    if kind == "b":
        return T.BooleanType()
    if kind in "iu":
        return T.LongType()
    if kind == "f":
        return T.DoubleType()
    if kind == "M":
        return T.TimestampType()
    sample = next((v for v in series if v is not None and not _is_nan(v)), None)
    if isinstance(sample, bool):
        return T.BooleanType()
    if isinstance(sample, int):
        return T.LongType()
    if isinstance(sample, float):
        return T.DoubleType()
    if isinstance(sample, bytes):
        return T.BinaryType()
    if isinstance(sample, pd.Timestamp | dt.datetime):
        return T.TimestampType()
    if isinstance(sample, dt.date):
        return T.DateType()
    return T.StringType()


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _duck_type(kind: DataType) -> str:
    """A Spark type in DuckDB's words (Warehouse.columns)."""
    name = kind.typeName()
    return {"double": "DOUBLE", "float": "FLOAT", "long": "BIGINT", "integer": "INTEGER",
            "string": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP WITH TIME ZONE",
            "boolean": "BOOLEAN", "binary": "BLOB"}.get(name, name.upper())
