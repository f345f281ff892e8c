"""dbt in this process, through dbt's public programmatic API (dbtRunner), as a Dagster
resource.

A `dbt` subprocess pays Python's start and dbt's imports on every invocation (~3-5 s here,
twice a run: the models, then the scored models). In this process dbt is imported once,
and a test worker or a long-lived process pays it once for all its runs. dbt runs in a
worker thread and reports each finished node through a callback, so materializations
appear as models finish. A run interrupted while dbt builds stops waiting at once; dbt's
thread (a daemon) ends with the process, and the next run rebuilds the window as after a
crash.

Each invocation gets its configuration's settings as values (`invocation_env`): dbt reads
its profile from the environment, so they are set for the invocation only, under a lock,
and the previous values restored after. Two configurations in one process never share
whichever wrote last.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetCheckResult, AssetExecutionContext, ConfigurableResource, Failure, Output

from orchestration.dbt.events import NodeKeys, NodeResult, to_dagster_event
from orchestration.internals.dbt_duckdb import (
    close_duckdb_environment,
    leave_warehouse_location_out_of_parse_check,
)

log = logging.getLogger(__name__)

RESULT_EVENTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}
# every node's result of an invocation, in its target folder: the pipeline's builds write
# no run_results.json (helpers.build_args), and the harness reads each model's time here
NODE_RESULTS = "node_results.json"
_DONE = object()

# one dbt invocation at a time per process: dbt keeps global state (flags, adapters)
_INVOKE_LOCK = threading.Lock()


class DbtError(Exception):
    """A dbt invocation failed: dbt's own error messages, and where its log is."""


@contextmanager
def invocation_env(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set for one dbt invocation, held by the invocation lock, then restored."""
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


def _node_result(msg: Any) -> NodeResult:
    """A result event's fields, read as dbt's documentation of callbacks reads them."""
    data = msg.data
    failures = getattr(data, "num_failures", None) if msg.info.name == "LogTestResult" else None
    status = data.node_info.node_status
    if not status or status == "None":  # a microbatch model reports it in data.status
        status = data.status
    return NodeResult(unique_id=data.node_info.unique_id, status=status.lower(),
                      execution_time=float(getattr(data, "execution_time", 0.0) or 0.0),
                      failures=failures, invocation_id=msg.info.invocation_id)


class DbtInvocation:
    """One dbt command running in a worker thread of this process."""

    def __init__(self, args: Sequence[str], target_path: Path, env: Mapping[str, str]) -> None:
        self.args = list(args)
        self.target_path = target_path
        self.success: bool | None = None  # None while dbt runs
        self.errors: list[str] = []
        self._exception: BaseException | None = None
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._finished: list[NodeResult] = []
        self._thread = threading.Thread(target=self._invoke, args=(dict(env),), name="dbt",
                                        daemon=True)
        self._thread.start()
        log.info("running dbt in process: dbt %s", " ".join(self.args))

    def _invoke(self, env: dict[str, str]) -> None:
        from dbt.cli.main import dbtRunner

        def on_event(msg: Any) -> None:
            if msg.info.level == "error":
                self.errors.append(msg.info.msg)
            if msg.info.name in RESULT_EVENTS and msg.data.node_info.unique_id:
                result = _node_result(msg)
                self._finished.append(result)
                self._results.put(result)

        try:
            with invocation_env(env):
                result = dbtRunner(callbacks=[on_event]).invoke(self.args)
            self.success = bool(result.success)
            self._exception = result.exception
        except BaseException as exc:  # the worker thread must always report back
            self.success = False
            self._exception = exc
        finally:
            self._write_node_results()
            self._results.put(_DONE)

    def _write_node_results(self) -> None:
        try:
            (self.target_path / NODE_RESULTS).write_text(json.dumps(
                [dataclasses.asdict(r) for r in self._finished], indent=1))
        except OSError as exc:  # a record for people and the harness: never fails the run
            log.warning("could not write %s: %s", NODE_RESULTS, exc)

    def results(self) -> Iterator[NodeResult]:
        """Each node's result as it finishes, until dbt ends (once: a second call is empty)."""
        while (result := self._results.get()) is not _DONE:
            yield result
        self._results.put(_DONE)

    def wait(self) -> DbtInvocation:
        """Wait for dbt; raise DbtError if it failed."""
        for _ in self.results():
            pass
        self._thread.join()
        if not self.success or self.errors:
            raise self.error()
        return self

    def error(self) -> DbtError:
        messages = list(self.errors)
        if self._exception is not None:
            messages.append(f"{type(self._exception).__name__}: {self._exception}")
        log_file = self.target_path / "dbt.log"
        return DbtError(f"dbt {self.args[0] if self.args else ''} failed: "
                        + ("; ".join(messages) or "see the dbt log")
                        + (f" (dbt log: {log_file})" if log_file.exists() else ""))


class InProcessDbt(ConfigurableResource):
    """dbt of one configuration: the project, and the settings its profile reads
    (orchestration/dbt/project.py, dbt_env) applied per invocation."""

    project_dir: str
    invocation_env: dict[str, str] = {}
    # dbt's saved parse states, in order of preference: each invocation starts from the
    # first that exists then (a run in a long-lived process finds the one the last kept)
    parse_states: list[str] = []

    def invoke(self, args: Sequence[str], *, target_path: Path) -> DbtInvocation:
        """`dbt <args>` with its artifacts and log in `target_path`."""
        target_path.mkdir(parents=True, exist_ok=True)
        state = next((Path(p) for p in self.parse_states if Path(p).exists()), None)
        if state is not None:
            shutil.copy(state, target_path / state.name)
        full = [*args, "--project-dir", self.project_dir, "--profiles-dir", self.project_dir,
                "--target-path", str(target_path), "--log-path", str(target_path),
                "--no-use-colors", "--no-send-anonymous-usage-stats", "--quiet"]
        return DbtInvocation(full, target_path, self.invocation_env)

    def build(self, context: AssetExecutionContext, args: Sequence[str], keys: NodeKeys, *,
              target_path: Path, selection: Sequence[str]) -> Iterator[Output | AssetCheckResult]:
        """`dbt <args>` over this step's assets, streamed as their Dagster events.
        `selection` is the step's own --select/--exclude; a subset the run chose (the UI's
        "materialize selected") narrows it to the chosen assets and checks."""
        if context.is_subset:
            selection = keys.selection(context.selected_asset_keys,
                                       context.selected_asset_check_keys)
        assets_def = context.assets_def
        output_names = {key: assets_def.get_output_name_for_asset_key(key)
                        for key in context.selected_asset_keys}
        checks = set(context.selected_asset_check_keys)
        invocation = self.invoke([*args, *selection], target_path=target_path)
        for result in invocation.results():
            event = to_dagster_event(result, keys, output_names, checks)
            if event is not None:
                yield event
        try:
            invocation.wait()
        except DbtError as exc:
            raise Failure(description=str(exc)) from None
