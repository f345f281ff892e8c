"""Production runs: after downtime and a held-back day, the schedule and `userops run`
without dates catch up, and the tables equal those of an uninterrupted run row by row;
no run in between leaves a hole unnoticed (README, How daily runs work)."""

import datetime as dt
import json
import logging
import shutil

import pandas as pd
import pytest
from dagster import RunRequest, SkipReason, build_schedule_context

from orchestration.assets.coverage import missing_days
from orchestration.catch_up import (
    CatchUp,
    Landed,
    Published,
    catch_up_window,
    missing_ranges,
    published_days,
)
from orchestration.cli import main
from orchestration.definitions import DAILY_JOB, build_definitions
from orchestration.resources import warehouse_for
from orchestration.runner import RunError, instance_for
from orchestration.window import SCHEDULE_TAG
from sample_data.generator import GeneratorParams
from tests.conftest import (
    assert_same_tables,
    built_tables,
    generated_landing,
    make_settings,
    run,
    write_config,
)

D = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(16)]  # days 1..16
T0 = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)


def _at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_catch_up_starts_at_the_first_unpublished_or_changed_day():
    first_build = Published(D[0], D[5], True, _at(1))
    ledger = [first_build]
    # downtime: days 7..12 never built
    assert catch_up_window(D[0], D[11], ledger, [], 31) == CatchUp(
        D[6], D[11], "the first day not published yet")
    # a file for day 3 landed after day 3 was published: from day 3
    late = Landed(D[2], D[2], _at(2))
    assert catch_up_window(D[0], D[5], ledger, [late], 31).start == D[2]
    # ... but not what was landed before that publish
    early = Landed(D[0], D[5], _at(0))
    assert catch_up_window(D[0], D[5], ledger, [early], 31) == CatchUp(
        D[5], D[5], "every day is published: the last day again")
    # the bound keeps the oldest days and says what is left
    assert catch_up_window(D[0], D[15], ledger, [], 4) == CatchUp(
        D[6], D[9], "the first day not published yet", (D[10], D[15]))
    # no ledger: a first build of every day
    assert catch_up_window(D[0], D[15], [], [], 4).start == D[0]


def test_published_days_follow_full_builds_and_windows():
    ledger = [Published(D[0], D[9], True, _at(1)), Published(D[12], D[13], False, _at(2)),
              Published(D[0], D[4], True, _at(3))]  # a full refresh through day 5 drops 6..14
    assert sorted(published_days(ledger, D[0])) == D[:5]
    assert missing_ranges([D[0], D[1], D[5], D[6], D[9]]) == [(D[2], D[4]), (D[7], D[8])]


def _status(cfg, capsys) -> dict:
    capsys.readouterr()
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _copy_events(full, live, days: list[dt.date]) -> None:
    for day in days:
        name = f"events_{day:%Y%m%d}.parquet"
        shutil.copy(full / "events" / name, live / "events" / name)


@pytest.mark.e2e
def test_downtime_and_a_held_back_day_are_caught_up_with_no_hole_left(
        tmp_path, caplog, capsys):
    params = GeneratorParams(users=150, days=len(D), seed=11, start=D[0])
    full, _ = generated_landing(tmp_path / "generated", params)
    live = tmp_path / "live"
    shutil.copytree(full, live, ignore=shutil.ignore_patterns("events_*"))
    config = {"start_date": D[0].isoformat(), "incremental": {"lookback_days": 2}}
    # day 3 arrives in two parts: the second long after day 3 was published
    day3 = pd.read_parquet(full / "events" / f"events_{D[2]:%Y%m%d}.parquet")
    half = len(day3) // 2

    settings = make_settings(tmp_path / "a", live, **config)
    wh = warehouse_for(settings)
    _copy_events(full, live, D[:2] + D[3:6])
    day3.iloc[:half].to_parquet(live / "events" / f"events_{D[2]:%Y%m%d}.parquet")
    run(settings, D[0], D[5])
    assert missing_days(wh) == []

    # five days of downtime, then a run told to build day 12 alone: it says beforehand
    # that days 7..9 are left out (10..11 are its lookback), and the publish is held back
    _copy_events(full, live, D[6:12])
    caplog.set_level(logging.WARNING)
    with pytest.raises(RunError, match=r"no_missing_days: the daily tables have no "
                       r"rows for 2025-03-07 \.\. 2025-03-09 \(3 days\)"):
        run(settings, D[11], D[11])
    assert "leaves 2025-03-07 .. 2025-03-09 (3 days) without rows" in caplog.text
    cfg = write_config(tmp_path / "a", live, **config)
    held = _status(cfg, capsys)
    assert held["published_through"] == "2025-03-06"
    # the orders landed whole at the start: every day through 16 has data to publish
    assert held["unpublished"] == ["2025-03-07 .. 2025-03-16 (10 days)"]
    assert held["holes"] == ["2025-03-07 .. 2025-03-09 (3 days)"]
    assert held["last_run"]["status"] == "FAILURE"
    assert held["last_run"]["window"] == "2025-03-12 .. 2025-03-12"

    # the schedule's tick after day 14 catches up from day 7
    _copy_events(full, live, D[12:14])
    defs = build_definitions(settings)
    request = defs.resolve_schedule_def(f"{DAILY_JOB}_schedule")(
        build_schedule_context(scheduled_execution_time=dt.datetime(2025, 3, 15, 0, 30,
                                                                    tzinfo=dt.UTC)))
    assert request.run_key == "2025-03-14"
    schedule = defs.resolve_schedule_def(f"{DAILY_JOB}_schedule")
    with instance_for(settings) as instance:
        # the tags the daemon adds to a scheduled run
        tags = {**request.tags, SCHEDULE_TAG: schedule.name}
        result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
            run_config=request.run_config, instance=instance, tags=tags,
            raise_on_error=False)
        # a second tick for the same day (a later minute) launches nothing ...
        again = schedule(build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2025, 3, 15, 7, 0, tzinfo=dt.UTC)))
        assert isinstance(again, SkipReason) and "2025-03-14" in again.skip_message
        # ... and the next day's tick does
        assert isinstance(schedule(build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2025, 3, 16, 0, 30, tzinfo=dt.UTC))),
            RunRequest)
    assert result.success
    assert wh.row("select window_start, window_end from _userops.run_window") == (D[6], D[13])
    assert missing_days(wh) == []

    # the rest of day 3 lands late, with days 15..16; `userops run` rebuilds from day 3
    _copy_events(full, live, D[14:])
    day3.iloc[half:].to_parquet(live / "events" / f"events_{D[2]:%Y%m%d}_late.parquet")
    capsys.readouterr()
    assert main(["run", "--config", str(cfg), "-q"]) == 0
    assert "pipeline finished" not in capsys.readouterr().err  # -q: no progress lines
    assert wh.row("select window_start, window_end from _userops.run_window") == (D[2], D[15])
    assert missing_days(wh) == []
    done = _status(cfg, capsys)
    assert (done["published_through"], done["unpublished"], done["holes"]) == (
        "2025-03-16", [], [])
    assert done["last_run"]["status"] == "SUCCESS"
    assert done["last_run"]["window"] == "catch-up .. 2025-03-16"

    # one uninterrupted run over the same landing builds the same rows
    straight = make_settings(tmp_path / "b", live, **config)
    run(straight, D[0], D[15])
    assert_same_tables(built_tables(straight), built_tables(settings), "caught up vs straight")


def test_status_of_a_new_deployment_and_its_next_tick(tmp_path, capsys):
    cfg = write_config(tmp_path, tmp_path / "landing", timezone="Asia/Shanghai",
                       schedule={"enabled": True, "minutes_after_midnight": 90})
    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "published through: nothing yet" in out and "warehouse:         missing" in out
    from orchestration.settings import Settings
    from orchestration.status import next_tick

    settings = Settings.build(cfg)
    # 2025-03-01 18:00 UTC is 02:00 on 2 March in Shanghai: past that day's 01:30 tick
    tick = next_tick(settings, dt.datetime(2025, 3, 1, 18, 0, tzinfo=dt.UTC))
    assert tick.isoformat() == "2025-03-03T01:30:00+08:00"
    tick = next_tick(settings, dt.datetime(2025, 3, 1, 17, 0, tzinfo=dt.UTC))  # 01:00
    assert tick.isoformat() == "2025-03-02T01:30:00+08:00"
