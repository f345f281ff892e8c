"""Dagster's SQLite event log, with its database connections kept open between events.

The stock SqliteEventLogStorage builds a new engine and opens a new connection for every
event it stores (and again for the cross-run index), and closes it after: in WAL mode the
close of a database's last connection checkpoints the log into the file. A run of this
pipeline stores some 500 events (asset, check, step and log events), and a py-spy profile
of a tiny one-day run put ~10 s of its ~35 s in opening, committing and closing these
connections. Here each database file gets one engine whose pool keeps a connection open;
every write is still its own committed transaction, so several processes (CLI runs,
`dagster dev`) share the files exactly as with the stock class. runner.instance_yaml
selects it for new instances.

It also remembers the schema facts the stock class looks up again for nearly every event:
whether a table, an asset-key column or a completed secondary index exists (the table
check built a new engine and opened the index file each time: 354 times a tiny run). Only
"present" is remembered: a migration adds them and nothing here drops them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# open run databases kept per process (a long-lived process, a test worker, makes many
# runs; each run writes its own file): the oldest is closed beyond this
_MAX_OPEN_SHARDS = 4


def _no_sync_per_commit(dbapi_connection: Any, _record: Any) -> None:
    # WAL with synchronous=NORMAL: a commit no longer waits for an fsync (~1.4 ms each,
    # ~2,000 a run); the log stays consistent, and survives a crash of the process. Only
    # a power cut can lose its last events: those of a run the next run marks failed.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class CachedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Any
    ) -> CachedEngineSqliteEventLogStorage:
        # the parent builds a SqliteEventLogStorage by name, not cls: without this the
        # configured class is silently replaced by the stock one
        return cls(inst_data=inst_data, **config_value)

    @property
    def _engines(self) -> OrderedDict[str, Engine]:
        cache = self.__dict__.get("_userops_engines")
        if cache is None:
            cache = self.__dict__["_userops_engines"] = OrderedDict()
        return cache

    def _engine(self, shard: str) -> Engine:
        engines = self._engines
        engine = engines.get(shard)
        if engine is None:
            # one pooled connection per file, reused by every write (the storage's lock
            # serialises them); SQLAlchemy's pysqlite allows its use across threads
            engine = create_engine(
                self.conn_string_for_shard(shard), poolclass=QueuePool, pool_size=1,
                max_overflow=2, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            event.listen(engine, "connect", _no_sync_per_commit)
            engines[shard] = engine
            while len(engines) > _MAX_OPEN_SHARDS:
                _, oldest = engines.popitem(last=False)
                oldest.dispose()
        else:
            engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    @property
    def _present(self) -> set[tuple[str, str]]:
        return self.__dict__.setdefault("_userops_present", set())

    def _known(self, kind: str, name: str, look: Callable[[], bool]) -> bool:
        if (kind, name) in self._present:
            return True
        found = look()
        if found:
            self._present.add((kind, name))
        return found

    def has_table(self, table_name: str) -> bool:
        return self._known("table", table_name, partial(super().has_table, table_name))

    def has_secondary_index(self, name: str) -> bool:
        return self._known("secondary index", name, partial(super().has_secondary_index, name))

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        return self._known("asset key column", column_name, partial(
            super()._has_asset_key_col_on_connection, conn, column_name))

    def has_asset_key_col(self, column_name: str) -> bool:
        # known: without opening a connection for the lookup above
        if ("asset key column", column_name) in self._present:
            return True
        return super().has_asset_key_col(column_name)

    def delete_events(self, run_id: str) -> None:
        """Dagster deletes a deleted run's rows but keeps its database file (emptied, never
        shrunk: ~2 MB a run here), so a pruned history still grew by a file a day. The
        file goes with the run."""
        super().delete_events(run_id)
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
            if engine is not None:
                engine.dispose()
            self._initialized_dbs.discard(run_id)
        path = Path(self.path_for_shard(run_id))
        for name in (path.name, path.name + "-wal", path.name + "-shm"):
            (path.parent / name).unlink(missing_ok=True)

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
