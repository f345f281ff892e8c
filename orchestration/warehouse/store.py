"""The pipeline's own state, always a DuckDB file, whatever the engine.

The landing keeps what it has seen and validated there (raw.*, raw.quarantine, the files
read), and the runs their bookkeeping (the publish ledger, the definition in force). On
DuckDB it is the warehouse file itself; on Spark a DuckDB file beside the engine's
tables, which the engine reads through the landing's lake (Warehouse.receive_landing).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import duckdb

try:
    import fcntl
except ImportError:  # Windows: DuckDB's own file lock still refuses, without the holder
    fcntl = None  # type: ignore[assignment]

# DuckDB files this process keeps open for a run (StateStore.held): path -> [connection,
# depth of nested holds, run lock file]
_HELD: dict[str, list] = {}
_HELD_LOCK = threading.Lock()


class WarehouseBusy(RuntimeError):
    """Another process runs the pipeline on this state file (StateStore.held)."""


def _take_run_lock(path: str) -> IO[str] | None:
    """An exclusive lock on `<path>.lock` for this process, recording who holds it; raises
    WarehouseBusy naming the holder when another process has it. The kernel drops the lock
    when its process ends, however it ends, so a killed run leaves no stale lock."""
    if fcntl is None:
        return None
    handle = open(f"{path}.lock", "a+", encoding="utf-8")  # noqa: SIM115 (held for the run)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "a process that did not say who it is"
        handle.close()
        raise WarehouseBusy(
            f"another run is using the warehouse {path} ({holder}); this one refuses to "
            "run beside it: wait for that run to end (`userops status` shows it)") from None
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {started}")
    handle.flush()
    return handle


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
        processes cannot open the file meanwhile, as while any run writes it.
        The outermost hold also takes the run lock (`<path>.lock`): a second run on the
        same state, on either engine, raises WarehouseBusy naming the first before it
        touches anything, instead of failing at its first table with DuckDB's error."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with _HELD_LOCK:
            entry = _HELD.get(self.path)
            if entry is None:
                lock = _take_run_lock(self.path)
                try:
                    entry = [duckdb.connect(self.path), 0, lock]
                except BaseException:
                    if lock is not None:
                        lock.close()
                    raise
                _HELD[self.path] = entry
            entry[1] += 1
        try:
            yield
        finally:
            with _HELD_LOCK:
                entry[1] -= 1
                if entry[1] == 0:
                    del _HELD[self.path]
                    entry[0].close()  # the last connection: DuckDB checkpoints here
                    if entry[2] is not None:
                        entry[2].close()  # closing the file releases its lock

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
