"""Landing: every quarantine reason, the conservation invariant, reruns."""

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data_quality.landing import LandingError, ValidationRules, landing_time_range, sync_landing
from data_quality.landing.validate import trimmed

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
RULES = ValidationRules(now=NOW, future_tolerance=dt.timedelta(hours=24))

GOOD = "2025-02-01T10:00:00Z"


def _events_csv(path: Path, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "event_id,user_id,event_name,event_time,session_id,platform,campaign_id,properties"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def _bad_landing(root: Path) -> Path:
    _events_csv(
        root / "events" / "a.csv",
        [
            f"e1,u1,search,{GOOD},,web,,",  # good
            "e2,u1,search,2025-02-01 18:00:00+08:00,,web,,",  # good, zoned (10:00 UTC)
            "e3,u1,search,2025-02-01 10:00:00,,web,,",  # good, naive = UTC
            f",u1,search,{GOOD},,web,,",  # null_id (event_id)
            f"e5,,search,{GOOD},,web,,",  # null_id (user_id)
            "e6,u1,search,not-a-time,,web,,",  # unparseable_time
            "e7,u1,search,2099-01-01T00:00:00Z,,web,,",  # future_time
            "e8,u1,search,,,web,,",  # null_time
            "e9,u1,search",  # malformed_row (too few fields)
            f"e1,u1,search,{GOOD},,web,,",  # duplicate_key (same file)
        ],
    )
    _events_csv(
        root / "events" / "b.csv",
        [
            f"e2,u9,comment,{GOOD},,ios,,",  # duplicate_key across files
            f"e10,u2,page_view,{GOOD},,ios,,",  # good
        ],
    )
    orders = root / "orders"
    orders.mkdir(parents=True)
    recs = [
        {"order_id": "o1", "user_id": "u1", "order_time": GOOD, "amount": 10.5, "status": "paid"},
        {"order_id": "o2", "user_id": "u1", "order_time": GOOD, "amount": -3, "status": "paid"},
        {"order_id": "o3", "user_id": "u1", "order_time": GOOD, "amount": 3, "status": "stolen"},
        {"order_id": "o4", "user_id": "u1", "order_time": GOOD, "amount": "ten", "status": "paid"},
        {"order_id": "o5", "user_id": "u2", "order_time": GOOD, "amount": 7, "status": "Refunded"},
    ]
    lines = [json.dumps(r) for r in recs] + ["{not json"]
    (orders / "o.jsonl").write_text("\n".join(lines) + "\n")
    users = root / "users"
    users.mkdir()
    pd.DataFrame(
        {
            "user_id": ["u1", "u2", None],
            "signup_time": [GOOD, GOOD, GOOD],
            "channel": ["organic", "ads", "ads"],
            "plan": ["free", "pro", "pro"],
        }
    ).to_parquet(users / "u.parquet")
    return root


def _reasons(con) -> dict[tuple[str, str], int]:
    rows = con.execute(
        "select entity, reason, count(*) from raw.quarantine group by 1, 2"
    ).fetchall()
    return {(e, r): n for e, r, n in rows}


def test_every_reason_quarantined_and_rows_conserved(tmp_path):
    landing = _bad_landing(tmp_path / "landing")
    con = duckdb.connect()
    report = sync_landing(con, landing, RULES, "run-1", max_bad_row_rate=1.0)
    assert _reasons(con) == {
        ("events", "null_id"): 2,
        ("events", "unparseable_time"): 1,
        ("events", "future_time"): 1,
        ("events", "null_time"): 1,
        ("events", "malformed_row"): 1,
        ("events", "duplicate_key"): 2,
        ("orders", "negative_amount"): 1,
        ("orders", "unknown_status"): 1,
        ("orders", "bad_amount"): 1,
        ("orders", "malformed_row"): 1,
        ("users", "null_id"): 1,
    }
    # conservation: 12 event rows read = 4 staged + 8 quarantined, etc.
    assert report.rows_read == {"events": 12, "orders": 6, "users": 3}
    assert report.rows_staged["events"] == 4 and report.rows_quarantined["events"] == 8
    assert report.rows_staged["orders"] == 2 and report.rows_quarantined["orders"] == 4
    assert report.rows_staged["users"] == 2 and report.rows_quarantined["users"] == 1
    # first copy wins (file a.csv before b.csv); zoned and naive times land in UTC
    e2 = con.execute("select user_id, event_time from raw.events where event_id = 'e2'").fetchone()
    assert e2[0] == "u1"
    times = {
        r[0]
        for r in con.execute(
            "select event_time from raw.events where event_id in ('e1','e2','e3')"
        ).fetchall()
    }
    assert len(times) == 1
    # quarantine rows carry file, row number, column and the original record
    row = con.execute(
        "select source_file, source_row, column_name, record, run_id "
        "from raw.quarantine where reason = 'future_time'"
    ).fetchone()
    assert row[:3] == ("events/a.csv", 7, "event_time") and "2099" in row[3] and row[4] == "run-1"
    # extra columns are kept, not dropped
    assert json.loads(
        con.execute("select extra from raw.users where user_id = 'u2'").fetchone()[0]
    ) == {"plan": "pro"}
    # status is normalised; 'Refunded' is known
    assert (
        con.execute("select status from raw.orders where order_id = 'o5'").fetchone()[0]
        == "refunded"
    )


def test_rerun_counts_nothing_twice_and_changed_file_replaces(tmp_path):
    landing = _bad_landing(tmp_path / "landing")
    con = duckdb.connect()
    first = sync_landing(con, landing, RULES, "run-1", max_bad_row_rate=1.0)
    again = sync_landing(con, landing, RULES, "run-2", max_bad_row_rate=1.0)
    assert again.files_loaded == [] and again.files_unchanged == 4
    assert again.rows_staged == first.rows_staged
    assert again.rows_quarantined == first.rows_quarantined
    # a corrected file replaces its earlier rows and rejects
    _events_csv(landing / "events" / "b.csv", [f"e11,u3,search,{GOOD},,ios,,"])
    third = sync_landing(con, landing, RULES, "run-3", max_bad_row_rate=1.0)
    assert third.files_loaded == ["events/b.csv"]
    ids = {r[0] for r in con.execute("select event_id from raw.events").fetchall()}
    assert ids == {"e1", "e2", "e3", "e11"}
    assert _reasons(con)[("events", "duplicate_key")] == 1
    total = third.rows_staged["events"] + third.rows_quarantined["events"]
    assert total == 11  # 10 rows of a.csv + 1 of the new b.csv


def test_bad_row_rate_fails_naming_file_column_and_example(tmp_path):
    landing = tmp_path / "landing"
    _events_csv(
        landing / "events" / "bad.csv",
        [
            f"e1,u1,search,{GOOD},,web,,",
            "e2,u1,search,garbage,,web,,",
            "e3,u1,search,rubbish,,web,,",
        ],
    )
    con = duckdb.connect()
    with pytest.raises(LandingError) as err:
        sync_landing(con, landing, RULES, "run-1", max_bad_row_rate=0.5)
    msg = str(err.value)
    assert "events/bad.csv" in msg and "event_time" in msg and "unparseable_time" in msg
    assert "garbage" in msg  # an example row
    # nothing was written: the transaction rolled back
    assert con.execute("select count(*) from landing.files").fetchone()[0] == 0


def test_missing_required_column_quarantines_every_row(tmp_path):
    landing = tmp_path / "landing" / "orders"
    landing.mkdir(parents=True)
    (landing / "o.csv").write_text("order_id,user_id,order_time,status\no1,u1,2025-01-01,paid\n")
    con = duckdb.connect()
    with pytest.raises(LandingError, match="missing_column in column amount"):
        sync_landing(con, tmp_path / "landing", RULES, "r")
    report = sync_landing(con, tmp_path / "landing", RULES, "r", max_bad_row_rate=1.0)
    assert report.rows_quarantined["orders"] == 1 and report.rows_staged["orders"] == 0


def test_known_events_quarantines_unknown_names(tmp_path):
    landing = tmp_path / "landing"
    _events_csv(
        landing / "events" / "a.csv", [f"e1,u1,search,{GOOD},,web,,", f"e2,u1,serch,{GOOD},,web,,"]
    )
    con = duckdb.connect()
    rules = ValidationRules(now=NOW, known_events=frozenset({"search"}))
    sync_landing(con, landing, rules, "r", max_bad_row_rate=1.0)
    assert _reasons(con) == {("events", "unknown_event_name"): 1}


def test_non_utf8_csv_fails_with_file_name(tmp_path):
    landing = tmp_path / "landing" / "users"
    landing.mkdir(parents=True)
    (landing / "u.csv").write_bytes(b"user_id,signup_time\n\xff\xfe,2025-01-01\n")
    with pytest.raises(LandingError, match=r"u\.csv: not valid UTF-8"):
        sync_landing(duckdb.connect(), tmp_path / "landing", RULES, "r")


def test_empty_landing_is_a_clear_error(tmp_path):
    with pytest.raises(LandingError, match="no landing files"):
        sync_landing(duckdb.connect(), tmp_path, RULES, "r")


def test_landing_time_range_ignores_garbage(tmp_path):
    landing = _bad_landing(tmp_path / "landing")
    lo, hi = landing_time_range(landing)
    assert lo == pd.Timestamp("2025-02-01T10:00:00Z")
    assert hi == pd.Timestamp("2099-01-01T00:00:00Z")


def test_missing_strings_in_parquet_stay_null(tmp_path):
    """pandas 3 reads missing strings as NaN; they must land as NULL, not 'nan'."""
    folder = tmp_path / "landing" / "events"
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "event_id": ["e1", "e2"],
            "user_id": ["u1", "u1"],
            "event_name": ["search", "search"],
            "event_time": pd.to_datetime([GOOD, GOOD], utc=True),
            "session_id": ["s1", None],
            "campaign_id": [None, None],
        }
    ).to_parquet(folder / "e.parquet")
    con = duckdb.connect()
    sync_landing(con, tmp_path / "landing", RULES, "r")
    rows = con.execute(
        "select session_id, campaign_id from raw.events order by event_id"
    ).fetchall()
    assert rows == [("s1", None), (None, None)]


def _good_events(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i},u{i % 7},search,{GOOD},,web,," for i in range(n)]


def _totals(con) -> tuple[int, int, int]:
    """(rows read from the landed files, rows in raw.events, rows quarantined)."""
    return con.execute(
        """select (select sum(rows_read) from landing.files where entity = 'events'),
                  (select count(*) from raw.events),
                  (select count(*) from raw.quarantine where entity = 'events')"""
    ).fetchone()


def test_redelivered_file_of_duplicates_is_dropped_and_counted_not_bad(tmp_path):
    """At-least-once delivery: a later file that only repeats landed events is expected."""
    landing = tmp_path / "landing"
    _events_csv(landing / "events" / "a.csv", _good_events("e", 50))
    con = duckdb.connect()
    sync_landing(con, landing, RULES, "run-1")
    _events_csv(landing / "events" / "c.csv", [f"e3,u3,search,{GOOD},,web,,"])  # one re-sent
    report = sync_landing(con, landing, RULES, "run-2")  # default limit 5%: not refused
    assert report.files_loaded == ["events/c.csv"]
    assert _reasons(con) == {("events", "duplicate_key"): 1}
    assert _totals(con) == (51, 50, 1)  # conservation: read = staged + quarantined
    # a whole re-delivered file, and one with a new event among the re-sent ones
    _events_csv(landing / "events" / "d.csv", _good_events("e", 50))
    _events_csv(landing / "events" / "e.csv", [*_good_events("e", 5), f"n1,u1,search,{GOOD},,,,"])
    report = sync_landing(con, landing, RULES, "run-3")
    assert report.files_loaded == ["events/d.csv", "events/e.csv"]
    assert report.rows_staged["events"] == 51 and report.reasons == {"duplicate_key": 56}
    assert _totals(con) == (107, 51, 56)
    # a rerun over the same files counts nothing twice
    again = sync_landing(con, landing, RULES, "run-4")
    assert again.files_loaded == [] and _totals(con) == (107, 51, 56)
    assert again.rows_staged == report.rows_staged and again.reasons == report.reasons


def test_small_file_is_judged_with_the_runs_other_files_of_its_entity(tmp_path):
    """One bad row of ten is 10 %, but a ten-row file's rate says little: the run's events
    files together (1 bad of 1,010) are under the limit."""
    landing = tmp_path / "landing"
    _events_csv(landing / "events" / "big.csv", _good_events("e", 1000))
    _events_csv(landing / "events" / "tiny.csv",
                [*_good_events("t", 9), "t9,u1,search,garbage,,web,,"])
    con = duckdb.connect()
    report = sync_landing(con, landing, RULES, "run-1", min_rows_per_file=1000)
    assert report.rows_staged["events"] == 1009
    assert _reasons(con) == {("events", "unparseable_time"): 1}
    assert _totals(con) == (1010, 1009, 1)


def test_small_files_over_the_limit_together_name_the_pooled_rule(tmp_path):
    landing = tmp_path / "landing"
    _events_csv(landing / "events" / "a.csv", [*_good_events("a", 8), "a8,u1,search,junk,,web,,"])
    _events_csv(landing / "events" / "b.csv", [*_good_events("b", 8), "b8,u1,search,bad,,web,,"])
    con = duckdb.connect()
    with pytest.raises(LandingError) as err:
        sync_landing(con, landing, RULES, "run-1", min_rows_per_file=100)
    msg = str(err.value)
    assert "events: 2 of 18 rows in this run's 2 files are bad" in msg
    assert "judged with the run's other events files" in msg and "unparseable_time" in msg
    assert con.execute("select count(*) from landing.files").fetchone()[0] == 0


def test_large_file_is_judged_alone_and_duplicates_never_count(tmp_path):
    landing = tmp_path / "landing"
    rows = _good_events("e", 20)
    _events_csv(landing / "events" / "a.csv", [*rows, *rows, "x,u1,search,junk,,web,,"])
    con = duckdb.connect()
    with pytest.raises(LandingError) as err:  # 1 bad of 41 rows: 2.4 %, above 2 %
        sync_landing(con, landing, RULES, "run-1", max_bad_row_rate=0.02, min_rows_per_file=10)
    msg = str(err.value)
    assert "events/a.csv: 1 of 41 rows are bad" in msg and "judged alone" in msg
    assert "duplicate_key" not in msg  # 20 duplicates, none of them counted as bad
    report = sync_landing(con, landing, RULES, "run-2", max_bad_row_rate=0.03,
                          min_rows_per_file=10)
    assert report.reasons == {"duplicate_key": 20, "unparseable_time": 1}


def test_trimming_skips_only_values_with_nothing_to_cut():
    """The guarded trim (which leaves untouched what it need not copy) cuts exactly what
    Python's str.strip() of the same set cuts, short values and long ones (DuckDB inlines
    up to 12 bytes), non-ASCII ends and a no-break space (not in the set) included."""
    long = "id-0123456789abcdef"
    values = ["", " ", "x", " x", "x ", "\t\n", "\x01", f"  {long}  ", f"{long}\t", f"\r{long}",
              f"{long}ü", f"ü{long} ", f"\u00a0{long}\u00a0", f"{long}\x0c", None]
    con = duckdb.connect()
    got = [r[0] for r in con.execute(
        f"select {trimmed('v')} from unnest(?) with ordinality as t(v, i) order by i",
        [values]).fetchall()]
    assert got == [None if v is None else v.strip(" \t\n\x0b\x0c\r") for v in values]


def test_blank_and_typed_values_are_judged_as_their_text_reads(tmp_path):
    """The checks skip work on typed columns and on values whose first character is not
    whitespace; each case here is decided as Python's str.strip() and the text would."""
    folder = tmp_path / "landing" / "events"
    folder.mkdir(parents=True)
    ids = [" ", "\t\n", "", "\x01", " x ", "ü", "y" * 257, "\x0bz"]
    pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(ids))],
            "user_id": ids,
            "event_name": ["search"] * len(ids),
            "event_time": pd.to_datetime([GOOD] * len(ids), utc=True),
            "session_id": [" ", None, "s", "\x01", "  ", "s", "s", "s"],
        }
    ).to_parquet(folder / "e.parquet")
    orders = tmp_path / "landing" / "orders"
    orders.mkdir()
    pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4],  # an INTEGER id: present, never oversized
            "user_id": ["u1"] * 4,
            "order_time": pd.to_datetime([GOOD, None, GOOD, GOOD], utc=True),
            "amount": [1.5, 2.0, float("nan"), float("inf")],
            "status": ["paid"] * 4,
        }
    ).to_parquet(orders / "o.parquet")
    con = duckdb.connect()
    sync_landing(con, tmp_path / "landing", RULES, "r", max_bad_row_rate=1.0)
    quarantined = dict(con.execute(
        "select source_row, reason from raw.quarantine where entity = 'events'").fetchall())
    expected = {}
    for row, value in enumerate(ids, start=1):
        if value.strip(" \t\n\x0b\x0c\r") == "":
            expected[row] = "null_id"
        elif len(value) > 256:
            expected[row] = "oversized_value"
    assert quarantined == expected
    kept = dict(con.execute("select event_id, user_id from raw.events").fetchall())
    assert kept == {"e3": "\x01", "e4": "x", "e5": "ü", "e7": "z"}
    sessions = dict(con.execute("select event_id, session_id from raw.events").fetchall())
    assert sessions == {"e3": "\x01", "e4": None, "e5": "s", "e7": "s"}  # blank -> NULL
    orders_q = dict(con.execute(
        "select source_row, reason from raw.quarantine where entity = 'orders'").fetchall())
    assert orders_q == {2: "null_time", 3: "bad_amount", 4: "bad_amount"}
    assert con.execute("select order_id from raw.orders").fetchall() == [("1",)]
