"""dbt-duckdb's private state, reached for two reasons (orchestration/internals declares
both, so an upgrade that breaks one fails in tests/test_internals.py by name)."""

from __future__ import annotations

# DuckDB profile keys left out of dbt's parse-state check. dbt parses the whole project
# again (~5-8 s) when a hash of the profile's connection keys differs from its saved
# state's, and the profile holds the warehouse file's path and its DuckDB settings (the
# memory limit): neither changes what the project parses to (the database name, the
# file's stem, stays in the check), so one parse state serves every warehouse.
_NOT_PARSE_INPUTS = frozenset({"path", "settings"})


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


def leave_warehouse_location_out_of_parse_check() -> None:
    try:
        from dbt.adapters.duckdb.credentials import DuckDBCredentials
    except ImportError:  # another adapter
        return
    original = getattr(DuckDBCredentials, "_connection_keys", None)
    if original is None or getattr(DuckDBCredentials, "_userops_parse_keys", False):
        return  # patched already, or a dbt-duckdb without it: dbt then parses fully

    def _connection_keys(self) -> tuple[str, ...]:
        return tuple(k for k in original(self) if k not in _NOT_PARSE_INPUTS)

    DuckDBCredentials._connection_keys = _connection_keys
    DuckDBCredentials._userops_parse_keys = True
