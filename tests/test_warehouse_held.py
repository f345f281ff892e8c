"""Warehouse.held keeps the DuckDB file open for a run and lets it go after."""

import duckdb
import pytest

from orchestration.resources import build_warehouse


def test_a_held_file_is_shared_in_process_and_released_after(tmp_path):
    wh = build_warehouse(str(tmp_path / "wh.duckdb"), "1GB")
    wh.execute("create table t as select 1 as x")
    with wh.held():
        with wh.held():  # nested holds (a resource inside a run) share one handle
            wh.execute("insert into t values (2)")
        # still held: a read-only request joins the open read-write database
        with wh.connect(read_only=True) as con:
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
