"""The private parts of the frameworks this project relies on still exist
(orchestration/internals/); a broken one is named with its library and the module to
port."""

import pytest

from orchestration.internals import ASSUMPTIONS, Assumption, FrameworkChanged, broken, check


def test_every_assumption_about_the_installed_frameworks_holds():
    assert broken() == []
    check()
    # dagster-dbt and dbt-core are reached through their public APIs only
    assert {a.library for a in ASSUMPTIONS} == {"dagster", "dbt-duckdb"}


def test_a_broken_assumption_names_the_library_its_version_and_the_module_to_port():
    gone = Assumption("dbt-duckdb", "dbt.adapters.duckdb.credentials", "DuckDBCredentials",
                      ("_connection_keys", "_no_such_attribute"),
                      used_by="orchestration/internals/dbt_duckdb.py")
    renamed = Assumption("dagster-dbt", "dagster_dbt.no_such_module", "Thing",
                         used_by="orchestration/dbt/project.py")
    with pytest.raises(FrameworkChanged) as caught:
        check((gone, renamed))
    message = str(caught.value)
    assert "dbt-duckdb 1.11." in message
    assert "DuckDBCredentials lacks _no_such_attribute" in message
    assert "(used by orchestration/internals/dbt_duckdb.py)" in message
    assert "dagster_dbt.no_such_module.Thing is gone" in message
    assert "README, Upgrading" in message
