"""Dagster's SQLite event log, with one SQLAlchemy engine per database file kept open.

The stock SqliteEventLogStorage builds a new engine for every event it stores (and a
second for the cross-run index): ~10 ms each, so a run of this pipeline (some 150 asset
and check events and their step and log events) spent 5-10 s writing its own history.
Engines here are built once per shard and reused; connections still close after each
write (NullPool), so several processes (CLI runs, `dagster dev`) can share the files
exactly as with the stock class. runner.INSTANCE_YAML selects it for new instances.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


class CachedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    @property
    def _engines(self) -> dict[str, Engine]:
        cache = self.__dict__.get("_userops_engines")
        if cache is None:
            cache = self.__dict__["_userops_engines"] = {}
        return cache

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard), poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                self._engines[shard] = engine
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
