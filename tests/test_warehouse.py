"""The warehouse and the pipeline's state store: the store's file is held open for a run
and let go after; on DuckDB the store is the warehouse; no asset branches on the engine."""

import ast
from pathlib import Path

import duckdb
import pytest

from orchestration.resources import build_warehouse


def test_a_held_file_is_shared_in_process_and_released_after(tmp_path):
    wh = build_warehouse(str(tmp_path / "wh.duckdb"), "1GB")
    wh.execute("create table t as select 1 as x")
    with wh.store.held():
        with wh.store.held():  # nested holds (a resource inside a run) share one handle
            wh.execute("insert into t values (2)")
        # still held: a read-only request joins the open read-write database
        with wh.store.connect(read_only=True) as con:
            assert con.execute("select count(*) from t").fetchone()[0] == 2
        # another configuration of the same file cannot open while it is held
        with pytest.raises(duckdb.Error):
            duckdb.connect(wh.path, read_only=True)
    # released: read-only opens work again, and the writes were kept
    con = duckdb.connect(wh.path, read_only=True)
    try:
        assert con.execute("select sum(x) from t").fetchone()[0] == 3
    finally:
        con.close()


def test_on_duckdb_the_state_store_is_the_warehouse_and_landing_needs_no_copy(tmp_path):
    wh = build_warehouse(str(tmp_path / "wh.duckdb"), "1GB")
    with wh.store.connect() as con:
        con.execute("create schema raw; create table raw.events as select 1 as x")
        assert wh.receive_landing(con) is None
    assert wh.scalar("select count(*) from raw.events") == 1
    assert wh.duckdb_views


ASSET_MODULES = [*sorted((Path(__file__).parent.parent / "orchestration" / "assets")
                         .glob("*.py")),
                 Path(__file__).parent.parent / "orchestration" / "dbt" / "assets.py"]


@pytest.mark.parametrize("module", ASSET_MODULES, ids=lambda p: p.name)
def test_no_asset_branches_on_the_engine(module):
    """What differs between engines is a method of the warehouse, not an `if` in an asset
    (the asset kinds name the configured engine)."""
    tree = ast.parse(module.read_text())
    branches = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Compare)
                and any(isinstance(n, ast.Attribute) and n.attr == "engine"
                        for side in (node.left, *node.comparators) for n in ast.walk(side))]
    assert branches == []


def test_dbts_spark_sessions_get_the_pipelines_sql_settings():
    """dbt's sessions on Spark (a Thrift server's included) run with the Spark SQL settings
    of the pipeline's own sessions: profiles.yml says them again, and must not drift."""
    import yaml

    from orchestration.dbt.project import DBT_PROJECT_DIR
    from orchestration.warehouse.spark import SQL_CONF, session_conf

    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    assert profile["userops"]["outputs"]["spark"]["server_side_parameters"] == SQL_CONF
    # and both kinds of pipeline session carry them
    local = session_conf(Path("w.duckdb"), "local[2]", "1g", {})
    remote = session_conf(Path("w.duckdb"), "local[2]", "1g", {}, "sc://host:15002")
    assert SQL_CONF.items() <= local.items() and SQL_CONF.items() <= remote.items()


def test_a_spark_connect_read_names_the_tables_to_refresh():
    """On Spark Connect the warehouse refreshes every table a statement reads (dbt rewrites
    them through another session; tests/test_spark_thrift.py fails without it): the tables
    are the schema-qualified names after from / join, never a Parquet path."""
    from orchestration.warehouse.spark import _READS

    sql = ("select * from marts.user_rfm r join intermediate.int_x x on true "
           "left join `raw`.`events` e on true, parquet.`/tmp/lake/x` "
           "where r.day > (select max(d) from _userops.run_window)")
    assert sorted(_READS.findall(sql)) == [("_userops", "run_window"), ("intermediate", "int_x"),
                                           ("marts", "user_rfm"), ("raw", "events")]
