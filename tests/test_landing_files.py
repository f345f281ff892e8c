"""Landing files another process is still writing: deferred to a later run, never
half-landed, and landed exactly once when complete (README, Data contract)."""

import datetime as dt
import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

from data_quality.landing import FileRules, ValidationRules, sync_landing

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
RULES = ValidationRules(now=NOW, future_tolerance=dt.timedelta(hours=24))
HEADER = "event_id,user_id,event_name,event_time\n"
PATTERNS = ("*.tmp", "*._copying_", "_*", ".*")


def _line(i: int) -> str:
    return f"e{i},u{i % 7},search,2025-02-01T10:00:00Z\n"


def _csv(path: Path, ids: range) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(_line(i) for i in ids))
    return path


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def _sync(landing: Path, con, settle: float = 0, run_id: str = "r"):
    files = FileRules(PATTERNS, settle, "quarantine")
    return sync_landing(con, landing, RULES, run_id, max_bad_row_rate=1.0, files=files)


def _ids(con) -> list[str]:
    return sorted(r[0] for r in con.execute("select event_id from raw.events").fetchall())


@pytest.mark.parametrize("name", ["b.csv.tmp", "b.csv._COPYING_", "_b.csv", ".b.csv.x7Gq2"])
def test_a_temporary_name_is_deferred_then_landed_once_under_its_final_name(tmp_path, name):
    landing = tmp_path / "landing"
    _csv(landing / "events" / "a.csv", range(0, 3))
    part = _csv(landing / "events" / name, range(3, 6))
    con = duckdb.connect()
    report = _sync(landing, con)
    assert report.files_loaded == ["events/a.csv"]
    assert [(s, r.split(" (")[0]) for _, s, r in report.files_deferred] == [
        (f"events/{name}", "in-flight name")]
    assert con.execute("select source_file from landing.deferred_files").fetchall() == [
        (f"events/{name}",)]
    # the upload tool renames the finished file
    part.rename(landing / "events" / "b.csv")
    again = _sync(landing, con, run_id="r2")
    assert again.files_loaded == ["events/b.csv"] and again.files_deferred == []
    assert _ids(con) == [f"e{i}" for i in range(6)]
    assert con.execute("select count(*) from landing.deferred_files").fetchone()[0] == 0
    third = _sync(landing, con, run_id="r3")  # nothing twice
    assert third.files_loaded == [] and third.rows_staged["events"] == 6


def test_a_file_changed_within_the_settle_window_waits_for_the_next_run(tmp_path):
    landing = tmp_path / "landing"
    _age(_csv(landing / "events" / "old.csv", range(0, 2)), 600)
    fresh = _csv(landing / "events" / "fresh.csv", range(2, 4))
    con = duckdb.connect()
    report = _sync(landing, con, settle=60)
    assert report.files_loaded == ["events/old.csv"]
    [(entity, source, reason)] = report.files_deferred
    assert (entity, source) == ("events", "events/fresh.csv") and "settles after 60 s" in reason
    _age(fresh, 61)
    again = _sync(landing, con, settle=60, run_id="r2")
    assert again.files_loaded == ["events/fresh.csv"]
    assert _ids(con) == ["e0", "e1", "e2", "e3"]


def test_a_file_that_grows_while_it_is_read_is_deferred_never_half_landed(tmp_path):
    landing = tmp_path / "landing"
    _csv(landing / "events" / "a.csv", range(0, 3))
    growing = _csv(landing / "events" / "growing.csv", range(1000, 1200))
    stop, written = threading.Event(), [1200]

    def append() -> None:  # another process's upload, still writing
        with growing.open("a") as fh:
            while not stop.is_set():
                fh.write(_line(written[0]))
                fh.flush()
                written[0] += 1
                time.sleep(0.0005)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        time.sleep(0.05)
        con = duckdb.connect()
        report = _sync(landing, con)
    finally:
        stop.set()
        writer.join()
    assert report.files_loaded == ["events/a.csv"]
    # caught while it was read, or (on a loaded machine, when a write lands between the
    # listing's clock and the file's stat) already by its modification time
    [(_, name, reason)] = report.files_deferred
    assert name == "events/growing.csv"
    assert reason == "changed while it was read" or reason.startswith("changed 0 s ago"), reason
    assert _ids(con) == ["e0", "e1", "e2"]  # not one row of the growing file
    assert con.execute("select count(*) from landing.files").fetchone()[0] == 1
    # complete now: the next run lands every row of it, once
    again = _sync(landing, con, run_id="r2")
    assert again.files_loaded == ["events/growing.csv"]
    n = written[0] - 1000
    assert again.rows_read["events"] == n
    assert again.rows_staged["events"] == 3 + n
    assert _sync(landing, con, run_id="r3").files_loaded == []


def test_a_success_marker_written_after_the_files_lands_them_at_once(tmp_path):
    landing = tmp_path / "landing"
    first = _csv(landing / "events" / "a.csv", range(0, 2))
    _age(first, 5)
    (landing / "events" / "_SUCCESS").touch()
    _age(landing / "events" / "_SUCCESS", 2)
    late = _csv(landing / "events" / "b.csv", range(2, 4))  # after the marker: settles
    con = duckdb.connect()
    report = _sync(landing, con, settle=60)
    assert report.files_loaded == ["events/a.csv"]
    assert [s for _, s, _ in report.files_deferred] == ["events/b.csv"]
    assert late.exists()
