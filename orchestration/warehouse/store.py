"""The pipeline's own state, always a DuckDB file, whatever the engine.

The landing keeps what it has seen and validated there (raw.*, raw.quarantine, the files
read), and the runs their bookkeeping (the publish ledger, the definition in force). On
DuckDB it is the warehouse file itself; on Spark a DuckDB file beside the engine's
tables, which the engine reads through the landing's lake (Warehouse.receive_landing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# DuckDB files this process keeps open for a run (StateStore.held): path -> [connection,
# depth of nested holds]
_HELD: dict[str, list] = {}
_HELD_LOCK = threading.Lock()


class StateStore:
    """The DuckDB file at `path`, with DuckDB's `memory_limit`."""

    def __init__(self, path: str, memory_limit: str) -> None:
        self.path = path
        self.memory_limit = memory_limit

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the file open in this process for the block (a run). Opening the file reads
        its catalog and closing its last connection checkpoints it: ~40 ms each time, and a
        run connects some 250 times. While held, `connect` joins the open database
        (DuckDB's instance cache, as in-process dbt does) in well under 1 ms. Other
        processes cannot open the file meanwhile, as while any run writes it."""
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
        """A connection to the file. `read_only` applies when the file is not held (a held
        file is open read-write)."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # no connect-time config, as dbt-duckdb connects: a connection of this process then
        # shares dbt's open database (in-process dbt) instead of failing on a config clash
        con = duckdb.connect(self.path, read_only=read_only and self.path not in _HELD)
        try:
            con.execute(f"set memory_limit = '{self.memory_limit}'")
            yield con
        finally:
            con.close()
