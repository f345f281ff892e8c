"""The Parquet lake of the validated landing (data_quality/landing/lake.py): what Spark reads
as raw.*. Exactly the raw rows, one part per entity and UTC day, and a part is written
again only when its rows change."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from data_quality.landing.lake import PART_OF, export_lake


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema raw")
    con.execute("create table raw.events as select * from (values "
                "('e1', 'u1', timestamptz '2025-01-01 10:00:00+00'), "
                "('e2', 'u1', timestamptz '2025-01-01 23:30:00+00'), "
                "('e3', 'u2', timestamptz '2025-01-02 00:10:00+00')) "
                "t(event_id, user_id, event_time)")
    con.execute("create table raw.users as select 'u1' as user_id, "
                "timestamptz '2025-01-01 09:00:00+00' as signup_time")
    con.execute("create table raw.orders (order_id varchar, order_time timestamptz)")
    con.execute("create table raw.experiment_assignments (user_id varchar, "
                "assigned_time timestamptz)")
    con.execute("create table raw.channel_costs as select date '2025-01-01' as \"date\", "
                "10.0 as cost")
    con.execute("create table raw.contacts (contact_id varchar, sent_time timestamptz)")
    con.execute("create table raw.campaign_costs (campaign_id varchar, \"date\" date)")
    con.execute("create table raw.quarantine as select * from (values "
                "('events', 'duplicate'), ('events', 'bad time'), ('users', 'no user_id')) "
                "t(entity, reason)")
    yield con
    con.close()


def _lake_rows(lake: Path, table: str) -> list[tuple]:
    files = sorted(str(p) for p in (lake / table).glob("part=*/data.parquet"))
    rows = duckdb.execute(f"select * exclude (part) from read_parquet({files}, "
                          "hive_partitioning = true)").fetchall()
    return sorted(rows, key=repr)


def _raw_rows(con, table: str) -> list[tuple]:
    return sorted(con.execute(f"select * from raw.{table}").fetchall(), key=repr)


def test_the_lake_holds_exactly_the_raw_rows_by_day(con, tmp_path):
    lake = tmp_path / "lake"
    result = export_lake(con, lake)
    for table in PART_OF:
        assert _lake_rows(lake, table) == _raw_rows(con, table), table
    # parts by the UTC day of the entity's time; the quarantine by entity
    assert sorted(p.name for p in (lake / "events").iterdir()) == [
        "part=2025-01-01", "part=2025-01-02"]
    assert sorted(p.name for p in (lake / "quarantine").iterdir()) == [
        "part=events", "part=users"]
    assert result.written["events"] == 2 and result.rows["events"] == 3
    # an empty entity still has its columns, for the engine that reads it
    assert [p.name for p in (lake / "orders").iterdir()] == ["part=empty"]
    names = duckdb.execute("select column_name from (describe select * from "
                           f"read_parquet('{lake}/orders/part=empty/data.parquet', "
                           "hive_partitioning = false))").fetchall()
    assert [n for (n,) in names] == ["order_id", "order_time"]


def test_only_the_changed_parts_are_written_again(con, tmp_path):
    lake = tmp_path / "lake"
    export_lake(con, lake)
    unchanged = export_lake(con, lake)
    assert sum(unchanged.written.values()) == 0 and sum(unchanged.removed.values()) == 0

    day2 = lake / "events" / "part=2025-01-02" / "data.parquet"
    day1 = lake / "events" / "part=2025-01-01" / "data.parquet"
    day1_written = day1.stat().st_mtime_ns
    con.execute("update raw.events set user_id = 'u9' where event_id = 'e3'")  # a changed row
    changed = export_lake(con, lake)
    assert changed.written["events"] == 1 and changed.rows["events"] == 1
    assert day1.stat().st_mtime_ns == day1_written
    assert _lake_rows(lake, "events") == _raw_rows(con, "events")

    con.execute("delete from raw.events where event_id = 'e3'")  # a day loses all its rows
    removed = export_lake(con, lake)
    assert removed.removed["events"] == 1 and not day2.exists()
    assert _lake_rows(lake, "events") == _raw_rows(con, "events")

    con.execute("insert into raw.orders values ('o1', timestamptz '2025-01-03 08:00:00+00')")
    export_lake(con, lake)  # the first order replaces the empty part
    assert [p.name for p in (lake / "orders").iterdir()] == ["part=2025-01-03"]


def test_a_part_lost_half_way_is_written_again(con, tmp_path):
    """A crash between writing parts and recording them, or a deleted file: the next export
    restores what the fingerprints do not vouch for."""
    lake = tmp_path / "lake"
    export_lake(con, lake)
    (lake / "events" / "part=2025-01-01" / "data.parquet").unlink()
    again = export_lake(con, lake)
    assert again.written["events"] == 1
    assert _lake_rows(lake, "events") == _raw_rows(con, "events")
