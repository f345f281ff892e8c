"""dbt in this process (dbt's programmatic dbtRunner) instead of a `dbt` subprocess.

A subprocess pays Python's start and dbt's imports on every invocation (~3-5 s here, twice
a run: the models, then the scored models). In this process dbt is imported once, and a
test worker or a long-lived process pays it once for all its runs.

The invocation keeps dagster-dbt's own event handling: dbt's structured events (the
dicts of its JSON log lines) feed dagster-dbt's DbtCliInvocation, which turns each
result into a materialization or an asset check, exactly as for a subprocess. dbt runs in
a worker thread and its events are streamed, so materializations appear as models finish.
A run interrupted while dbt builds stops waiting at once; dbt's thread (a daemon) ends with
the process, and the next run rebuilds the window as after a crash.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from dagster_dbt.errors import DagsterDbtCliRuntimeError

log = logging.getLogger(__name__)

# The events dagster-dbt reads: node results (materializations, checks) and the Jinja
# log lines that carry column metadata. Everything else (thousands of debug events per
# run) stays in dbt's own log file.
_WANTED = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult",
           "JinjaLogInfo"}
_DONE = object()


class _DbtCommand:
    """Stands in for the subprocess.Popen that DbtCliInvocation records."""

    def __init__(self, args: Sequence[str]) -> None:
        self.args = list(args)
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:  # noqa: ARG002 - Popen's signature
        return self.returncode if self.returncode is not None else 0


def close_duckdb_environment() -> None:
    """dbt-duckdb keeps its DuckDB database open in the process after an invocation (a
    subprocess would have exited): close it, so this process can open the warehouse with
    its own settings and other processes (BI readers, `dagster dev`) are not locked out."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            try:
                env.close()
            finally:
                DuckDBConnectionManager._ENV = None


# one dbt invocation at a time per process: dbt keeps global state (flags, adapters)
_INVOKE_LOCK = threading.Lock()

# DuckDB profile keys left out of dbt's parse-state check. dbt parses the whole project
# again (~5-8 s) when a hash of the profile's connection keys differs from its saved
# state's, and the profile holds the warehouse file's path and its DuckDB settings (the
# memory limit): neither changes what the project parses to (the database name, the
# file's stem, stays in the check), so one parse state serves every warehouse.
_NOT_PARSE_INPUTS = frozenset({"path", "settings"})


def leave_warehouse_location_out_of_parse_check() -> None:
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    original = getattr(DuckDBCredentials, "_connection_keys", None)
    if original is None or getattr(DuckDBCredentials, "_userops_parse_keys", False):
        return  # patched already, or a dbt-duckdb without it: dbt then parses fully

    def _connection_keys(self) -> tuple[str, ...]:
        return tuple(k for k in original(self) if k not in _NOT_PARSE_INPUTS)

    DuckDBCredentials._connection_keys = _connection_keys
    DuckDBCredentials._userops_parse_keys = True


@contextmanager
def invocation_env(env: Mapping[str, str]) -> Iterator[None]:
    """One dbt invocation's settings, held by the invocation lock: dbt reads its profile
    (profiles.yml) from the environment, so the settings of the invocation's own
    configuration are set for its duration and the previous values restored after. Two
    configurations in one process never share whichever wrote last."""
    with _INVOKE_LOCK:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            leave_warehouse_location_out_of_parse_check()
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            close_duckdb_environment()


def parse_in_process(args: Sequence[str], env: Mapping[str, str]) -> None:
    """`dbt parse` in this process with `env` set for its duration."""
    from dbt.cli.main import dbtRunner

    with invocation_env(env):
        result = dbtRunner().invoke(list(args))
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception or 'see the dbt log'}")


@dataclass
class InProcessDbtInvocation(DbtCliInvocation):
    """A DbtCliInvocation whose events come from dbtRunner in this process."""

    _events: queue.SimpleQueue = field(init=False, default_factory=queue.SimpleQueue)
    _outcome: dict[str, Any] = field(init=False, default_factory=dict)

    @classmethod
    def start(cls, dbt_args: Sequence[str], *, target_path: Path, partial_parse: Path | None,
              env: Mapping[str, str], **fields: Any) -> InProcessDbtInvocation:
        target_path.mkdir(parents=True, exist_ok=True)
        if partial_parse is not None and partial_parse.exists():
            shutil.copy(partial_parse, target_path / partial_parse.name)
        args = [*dbt_args, "--target-path", str(target_path), "--log-path", str(target_path)]
        invocation = cls(process=_DbtCommand(["dbt", *args]), target_path=target_path,
                         **fields)
        thread = threading.Thread(target=invocation._invoke, args=(args, dict(env)),
                                  name="dbt", daemon=True)
        thread.start()
        log.info("running dbt in process: dbt %s", " ".join(args))
        return invocation

    def _invoke(self, args: list[str], env: dict[str, str]) -> None:
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_dict

        def on_event(msg) -> None:
            if msg.info.name in _WANTED or msg.info.level == "error":
                self._events.put(msg_to_dict(msg))

        try:
            with invocation_env(env):
                result = dbtRunner(callbacks=[on_event]).invoke(args)
            self._outcome["success"] = result.success
            self._outcome["exception"] = result.exception
        except BaseException as exc:  # the worker thread must always report back
            self._outcome["success"] = False
            self._outcome["exception"] = exc
        finally:
            self.process.returncode = 0 if self._outcome.get("success") else 1
            self._events.put(_DONE)

    def _stream_stdout(self) -> Iterator[dict[str, Any]]:
        while (event := self._events.get()) is not _DONE:
            if event["info"]["level"] == "error":
                self._error_messages.append(event["info"]["msg"])
            if event["info"]["name"] in _WANTED:
                yield event

    def is_successful(self) -> bool:
        if not self._outcome:  # not finished: drain the events first
            self._stdout = list(self._stream_stdout())
        return bool(self._outcome.get("success")) and not self._error_messages

    def get_error(self) -> Exception | None:
        if self.is_successful():
            return None
        exc = self._outcome.get("exception")
        messages = list(self._error_messages)
        if exc is not None:
            messages.append(f"{type(exc).__name__}: {exc}")
        log_file = self.target_path / "dbt.log"
        return DagsterDbtCliRuntimeError(
            description=f"dbt {' '.join(self.process.args[1:2])} failed: "
            + ("; ".join(messages) or "see the dbt log")
            + (f" (dbt log: {log_file})" if log_file.exists() else ""))
