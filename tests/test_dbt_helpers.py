import datetime as dt
import json
from zoneinfo import ZoneInfo

import duckdb
import pytest

from orchestration.dbt_helpers import (
    build_args,
    vars_arg,
    window_from_time_window,
    write_run_window,
)


def test_vars_arg_is_stable_whatever_the_key_order():
    a = vars_arg({"b": 1, "a": [1, 2]})
    b = vars_arg({"a": [1, 2], "b": 1})
    assert a == b
    assert json.loads(a[1]) == {"a": [1, 2], "b": 1}


def test_build_args():
    assert build_args({}) == ["build", "--vars", "{}"]
    assert build_args({}, full_refresh=True)[-1] == "--full-refresh"


def test_window_is_inclusive_days_in_partition_zone():
    tz = ZoneInfo("Asia/Shanghai")
    start = dt.datetime(2025, 1, 1, tzinfo=tz)
    end = dt.datetime(2025, 1, 4, tzinfo=tz)
    assert window_from_time_window(start, end) == (dt.date(2025, 1, 1), dt.date(2025, 1, 3))


def test_empty_window_is_an_error():
    t = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        window_from_time_window(t, t)


def test_write_run_window_tracks_built_through():
    day = lambda n: dt.date(2025, 1, n)  # noqa: E731
    con = duckdb.connect()
    assert write_run_window(con, day(1), day(10)) == day(10)
    assert write_run_window(con, day(3), day(3)) == day(10)  # a rerun of an old day keeps it
    assert con.execute("select * from _userops.run_window").fetchall() == [
        (day(3), day(3), day(10))
    ]
    assert write_run_window(con, day(1), day(5), full_refresh=True) == day(5)  # later days gone
    assert write_run_window(con, day(6), day(6)) == day(6)
