import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from dagster import build_schedule_context

from orchestration.config import parse_config
from orchestration.dbt.helpers import build_args, vars_arg, write_run_window
from orchestration.warehouse.duck import DuckDBWarehouse
from orchestration.window import (
    DailyRunConfig,
    build_daily_schedule,
    resolve_window,
    window_run_config,
    yesterday,
)


def test_vars_arg_is_stable_whatever_the_key_order():
    a = vars_arg({"b": 1, "a": [1, 2]})
    b = vars_arg({"a": [1, 2], "b": 1})
    assert a == b
    assert json.loads(a[1]) == {"a": [1, 2], "b": 1}


def test_build_args():
    assert build_args({}) == ["build", "--vars", "{}", "--exclude-resource-type", "unit_test",
                              "--no-write-json", "--log-level-file", "info"]
    assert build_args({}, full_refresh=True)[-1] == "--full-refresh"
    assert "--log-level-file" not in build_args({}, file_log_level=None)


def test_yesterday_is_the_last_complete_day_in_the_reporting_zone():
    now = dt.datetime(2025, 1, 4, 17, 0, tzinfo=dt.UTC)  # 01:00 on the 5th in Shanghai
    assert yesterday("UTC", now) == dt.date(2025, 1, 3)
    assert yesterday("Asia/Shanghai", now) == dt.date(2025, 1, 4)


def test_window_is_inclusive_and_one_given_day_is_a_one_day_window():
    assert resolve_window(DailyRunConfig(start="2025-01-01", end="2025-01-03"), "UTC") == (
        dt.date(2025, 1, 1), dt.date(2025, 1, 3))
    assert resolve_window(DailyRunConfig(end="2025-01-03"), "UTC") == (
        dt.date(2025, 1, 3), dt.date(2025, 1, 3))
    day = yesterday("UTC")
    assert resolve_window(DailyRunConfig(), "UTC") == (day, day)


def test_empty_window_is_an_error():
    with pytest.raises(ValueError, match="before it starts"):
        resolve_window(DailyRunConfig(start="2025-01-02", end="2025-01-01"), "UTC")


def test_full_refresh_reaches_every_dbt_step():
    ops = window_run_config(dt.date(2025, 1, 1), dt.date(2025, 1, 2), full_refresh=True)["ops"]
    assert ops["dbt_models"]["config"] == {
        "start": "2025-01-01", "end": "2025-01-02", "full_refresh": True, "catch_up": False}
    assert ops["dbt_scored_models"]["config"] == {"full_refresh": True}
    assert set(window_run_config(dt.date(2025, 1, 1), dt.date(2025, 1, 1))["ops"]) == {
        "dbt_models"}


def test_schedule_catches_up_through_the_day_before_once_per_day():
    from dagster import define_asset_job

    config = parse_config({"timezone": "Asia/Shanghai",
                           "schedule": {"minutes_after_midnight": 90}})
    schedule = build_daily_schedule(define_asset_job("daily_pipeline"), config)
    assert schedule.cron_schedule == "30 1 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    tick = dt.datetime(2025, 3, 10, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    request = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick)
                                     ).run_requests[0]
    assert request.run_key == "2025-03-09"
    window = request.run_config["ops"]["dbt_models"]["config"]
    assert (window["start"], window["end"], window["catch_up"]) == (None, "2025-03-09", True)
    assert request.tags["userops/window_start"] == "catch-up"
    assert request.tags["userops/window_end"] == "2025-03-09"


def test_write_run_window_tracks_built_through(tmp_path):
    day = lambda n: dt.date(2025, 1, n)  # noqa: E731
    wh = DuckDBWarehouse(str(tmp_path / "w.duckdb"), "1GB")
    assert write_run_window(wh, day(1), day(10)) == day(10)
    assert write_run_window(wh, day(3), day(3)) == day(10)  # a rerun of an old day keeps it
    assert wh.row("select * from _userops.run_window") == (
        day(3), day(3), day(10), False, day(10))
    assert dict(wh.columns("_userops.run_window")) == {
        "window_start": "DATE", "window_end": "DATE", "built_through": "DATE",
        "full_build": "BOOLEAN", "previous_built_through": "DATE"}
    assert write_run_window(wh, day(1), day(5), full_refresh=True) == day(5)  # later days gone
    assert wh.row("select full_build, previous_built_through "
                  "from _userops.run_window") == (True, None)
    assert write_run_window(wh, day(6), day(6)) == day(6)
    assert wh.scalar("select previous_built_through from _userops.run_window") == day(5)


def test_the_first_run_is_a_full_build(tmp_path):
    wh = DuckDBWarehouse(str(tmp_path / "w.duckdb"), "1GB")
    write_run_window(wh, dt.date(2025, 1, 4), dt.date(2025, 1, 4))
    assert wh.scalar("select full_build from _userops.run_window") is True


def test_old_dbt_run_folders_are_pruned(tmp_path):
    import os

    from orchestration.dbt.project import dbt_runs_dir, prune_dbt_runs
    from orchestration.settings import Settings

    settings = Settings(config=parse_config({}), landing=tmp_path, warehouse=tmp_path / "w",
                        dagster_home=tmp_path / "home", serving=tmp_path / "s")
    root = dbt_runs_dir(settings)
    for i in range(5):
        (root / f"run{i}" / "dbt_models").mkdir(parents=True)
        os.utime(root / f"run{i}", (1000 + i, 1000 + i))
    prune_dbt_runs(settings, keep=2)
    assert sorted(p.name for p in root.iterdir()) == ["run3", "run4"]
