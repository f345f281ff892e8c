"""Servers the end-to-end tests start as child processes (PostgreSQL, Dagster's daemon and
web server, a Spark cluster): on 127.0.0.1 only, and never outliving the test process."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the test process goes, so a
    killed test leaves no server behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, seconds: float, probe: Callable[[], T | None],
             log: Path | None = None) -> T:
    """`probe()`'s first true answer within `seconds`; else fail with the log's tail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"{what}: not within {seconds:.0f} s\n{tail}")


def stop_group(proc: subprocess.Popen, grace: float = 60) -> None:
    """SIGTERM to the process and its children (its own session), SIGKILL after `grace`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def serving(cmd: Sequence[str | Path], env: dict[str, str], log: Path,
            cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    """`cmd` running in its own session with its output in `log`, stopped with its
    children at the end (a Dagster daemon's code servers, a Spark worker's executors)."""
    with log.open("a") as out:
        proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent)
    try:
        yield proc
    finally:
        stop_group(proc)
