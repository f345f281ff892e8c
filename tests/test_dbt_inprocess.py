"""dbt runs in this process: its events reach Dagster as before, its errors are readable,
and it leaves the warehouse closed behind it."""

import duckdb
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from orchestration.dbt_project import apply_dbt_env, dbt_resource
from tests.conftest import make_settings


@pytest.fixture()
def settings(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "landing")
    apply_dbt_env(settings)
    return settings


def test_a_failing_dbt_command_raises_with_dbts_own_message(settings, tmp_path):
    invocation = dbt_resource().cli(
        ["show", "--inline", "select * from no_such_table_here"], target_path=tmp_path / "t")
    with pytest.raises(DagsterDbtCliRuntimeError, match="no_such_table_here"):
        invocation.wait()
    assert not invocation.is_successful()


def test_after_dbt_the_warehouse_opens_with_other_settings(settings, tmp_path):
    invocation = dbt_resource().cli(["show", "--inline", "select 42 as answer"],
                                    target_path=tmp_path / "t").wait()
    assert invocation.is_successful()
    # dbt-duckdb would keep its database open in this process: a read-only connection
    # with another memory limit would then fail ("different configuration")
    con = duckdb.connect(str(settings.warehouse), read_only=True,
                         config={"memory_limit": "300MB"})
    con.close()
