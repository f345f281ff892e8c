"""Every private part of a framework this project relies on, in one package.

Everything else reaches Dagster, dagster-dbt, dbt-core and dbt-duckdb through their public
APIs (dbt runs in this process through dbt's dbtRunner, its results become Dagster events
through the public translator: orchestration/dbt/). Three things still need a private
part, each in a module of this package that says why and what it saves:

- event_log.py: Dagster's SQLite event log with its connections kept open (~10 s of a
  tiny run's ~35 s went to opening and closing them);
- dbt_duckdb.py: one dbt parse state for every warehouse (a full parse costs 5-8 s a new
  warehouse), and dbt-duckdb's database closed after each in-process invocation;
- check_history.py: a deleted run's asset-check evaluations, which Dagster's delete_run
  leaves behind (1.6 MB a run).

They are why dagster, dagster-dbt, dbt-core and dbt-duckdb are pinned to one minor version
each (pyproject.toml). `check()` verifies that each assumption still holds, so an upgrade
that breaks one fails at once with the library, the part and the module to port (the
definitions call it; tests/test_internals.py runs it), not with an AttributeError in the
middle of a run. README, "Upgrading", says what to do.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
from dataclasses import dataclass


@dataclass(frozen=True)
class Assumption:
    library: str  # the distribution, as pip names it
    module: str
    name: str  # a class or function of `module`
    attributes: tuple[str, ...] = ()  # of `name`, private ones included
    fields: tuple[str, ...] = ()  # dataclass fields of `name` the code sets
    used_by: str = ""


ASSUMPTIONS = (
    Assumption("dagster", "dagster._core.storage.event_log", "SqliteEventLogStorage",
               ("_has_asset_key_col_on_connection", "has_asset_key_col",
                "has_secondary_index", "has_table", "conn_string_for_shard", "_initdb",
                "dispose", "from_config_value", "path_for_shard", "delete_events"),
               used_by="orchestration/internals/event_log.py"),
    Assumption("dagster", "dagster._core.storage.sql", "create_engine",
               used_by="orchestration/internals/event_log.py"),
    Assumption("dagster", "dagster._core.storage.sqlite", "SQLITE_BUSY_TIMEOUT_SECONDS",
               used_by="orchestration/internals/event_log.py"),
    Assumption("dagster", "dagster._core.storage.event_log", "SqlEventLogStorage",
               ("index_connection",), used_by="orchestration/internals/check_history.py"),
    Assumption("dagster", "dagster._core.storage.event_log.schema",
               "AssetCheckExecutionsTable", ("c",),
               used_by="orchestration/internals/check_history.py"),
    Assumption("dbt-duckdb", "dbt.adapters.duckdb.connections", "DuckDBConnectionManager",
               ("_LOCK", "_ENV"), used_by="orchestration/internals/dbt_duckdb.py "
               "(close_duckdb_environment)"),
    Assumption("dbt-duckdb", "dbt.adapters.duckdb.credentials", "DuckDBCredentials",
               ("_connection_keys",), used_by="orchestration/internals/dbt_duckdb.py "
               "(leave_warehouse_location_out_of_parse_check)"),
)


def _version(library: str) -> str:
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def broken(assumptions: tuple[Assumption, ...] = ASSUMPTIONS) -> list[str]:
    """One line per assumption that no longer holds: library and version, the part, the
    module to port."""
    out = []
    for a in assumptions:
        where = f"{a.library} {_version(a.library)}: {a.module}.{a.name}"
        try:
            thing = getattr(importlib.import_module(a.module), a.name)
        except (ImportError, AttributeError):
            out.append(f"{where} is gone (used by {a.used_by})")
            continue
        missing = [n for n in a.attributes if not hasattr(thing, n)]
        if a.fields:
            have = {f.name for f in dataclasses.fields(thing)} \
                if dataclasses.is_dataclass(thing) else set()
            missing += [f"field {n}" for n in a.fields if n not in have]
        if missing:
            out.append(f"{where} lacks {', '.join(missing)} (used by {a.used_by})")
    return out


class FrameworkChanged(RuntimeError):
    """An upgraded framework no longer has a private part this project relies on."""


def check(assumptions: tuple[Assumption, ...] = ASSUMPTIONS) -> None:
    """Raise FrameworkChanged naming every broken assumption (README, "Upgrading")."""
    problems = broken(assumptions)
    if problems:
        raise FrameworkChanged(
            "a framework upgrade broke what this project relies on: " + "; ".join(problems)
            + ". Pin the previous version again (pyproject.toml) or port the module named; "
            "README, Upgrading")
