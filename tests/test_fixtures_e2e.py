"""Hand-built landings that pin each activity definition, end to end."""

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_settings, overall, read_table, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

D1, D2 = dt.date(2025, 1, 1), dt.date(2025, 1, 2)


def _write_events(landing: Path, rows: list[tuple]) -> None:
    (landing / "events").mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(
        rows, columns=["event_id", "user_id", "event_name", "event_time", "session_id"]
    )
    df.to_csv(landing / "events" / "events.csv", index=False)


def test_activity_definitions_on_hand_built_users(tmp_path):
    landing = tmp_path / "landing"
    _write_events(
        landing,
        [
            # bouncer: a key event alone in each visit (bounced) -> never active
            ("b1", "bouncer", "search", "2025-01-01T09:00:00Z", None),
            ("b2", "bouncer", "search", "2025-01-01T12:00:00Z", None),
            # viewer: a long visit of passive events only -> visited, not active
            ("v1", "viewer", "page_view", "2025-01-01T09:00:00Z", None),
            ("v2", "viewer", "page_view", "2025-01-01T09:05:00Z", None),
            # user: an engaged visit on D1 -> active D1
            ("u1", "user", "app_open", "2025-01-01T10:00:00Z", None),
            ("u2", "user", "add_to_cart", "2025-01-01T10:00:30Z", None),
            # quick: two events 5 s apart with a key event -> bounced by duration
            ("q1", "quick", "search", "2025-01-02T10:00:00Z", "s1"),
            ("q2", "quick", "search", "2025-01-02T10:00:05Z", "s1"),
            # app: landed session_id keeps a 2-hour gap in one visit -> active D2
            ("a1", "app", "search", "2025-01-02T08:00:00Z", "s2"),
            ("a2", "app", "page_view", "2025-01-02T10:00:00Z", "s2"),
        ],
    )
    settings = make_settings(tmp_path / "wh", landing)
    run(settings, D1, D2, models_only=True)  # reads dbt tables only
    fact = overall(settings.warehouse)
    assert fact[["dau", "wau", "mau", "new_users", "bounced_only_users"]].values.tolist() == [
        [1, 1, 1, 1, 1],  # D1: user active; bouncer bounced-only (viewer's visit is not a bounce)
        [1, 2, 2, 1, 1],  # D2: app active; quick bounced-only
    ]
    days = read_table(settings.warehouse, "intermediate.int_user_days", "activity_date, user_id")
    active = set(days.loc[days["is_active"], "user_id"])
    assert active == {"user", "app"}
    assert set(days.loc[days["is_bounced_only"], "user_id"]) == {"bouncer", "quick"}


def test_reporting_time_zone_moves_events_across_midnight(tmp_path):
    landing = tmp_path / "landing"
    _write_events(
        landing,
        [
            # 17:00 UTC on Jan 1 is 01:00 on Jan 2 in Shanghai
            ("e1", "u", "search", "2025-01-01T17:00:00Z", None),
            ("e2", "u", "comment", "2025-01-01T17:01:00Z", None),
        ],
    )
    utc = make_settings(tmp_path / "utc", landing)
    run(utc, D1, D2, models_only=True)
    sh = make_settings(tmp_path / "sh", landing, timezone="Asia/Shanghai")
    run(sh, D1, D2, models_only=True)

    def dau(s):
        t = overall(s.warehouse)
        return list(zip(pd.to_datetime(t["activity_date"]).dt.date, t["dau"], strict=True))

    assert dau(utc) == [(D1, 1), (D2, 0)]
    assert dau(sh) == [(D2, 1)]  # the table starts on the first day with data


def test_configured_key_events(tmp_path):
    landing = tmp_path / "landing"
    _write_events(
        landing,
        [
            ("e1", "u1", "search", "2025-01-01T10:00:00Z", None),
            ("e2", "u1", "search", "2025-01-01T10:01:00Z", None),
            ("e3", "u2", "buy", "2025-01-01T10:00:00Z", None),
            ("e4", "u2", "page_view", "2025-01-01T10:01:00Z", None),
        ],
    )
    settings = make_settings(tmp_path / "wh", landing, activity={"key_events": ["buy"]})
    run(settings, D1, D1, models_only=True)
    days = read_table(settings.warehouse, "intermediate.int_user_days", "user_id")
    assert days.loc[days["is_active"], "user_id"].tolist() == ["u2"]


def _dbt_show(sql: str, target: Path, dbt_vars: str = "{}"):
    """First row of `dbt show --inline`, run in process."""
    from dbt.cli.main import dbtRunner

    from orchestration.settings import DBT_PROJECT_DIR

    res = dbtRunner().invoke(
        ["show", "--inline", sql, "--vars", dbt_vars, "--quiet",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target)]
    )  # fmt: skip
    assert res.success, res.exception
    return res.result.results[0].agate_table.rows[0]


def test_config_strings_reach_sql_only_as_escaped_literals(tmp_path, monkeypatch):
    """Second fence behind config validation: the literal macro escapes quotes."""
    import duckdb

    monkeypatch.setenv("USEROPS_WAREHOUSE", str(tmp_path / "w.duckdb"))
    hostile = "x'); drop table t; --"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table t as select 1 as a")
    con.close()
    row = _dbt_show(
        "select {{ sql_string(var('h')) }} as v, "
        "'buy' in {{ sql_string_list([var('h'), 'buy']) }} as k",
        tmp_path / "target",
        json.dumps({"h": hostile}),
    )
    assert (row[0], row[1]) == (hostile, True)
    # dbt keeps its connection open in this process: ask through dbt that t survived
    assert _dbt_show("select count(*) as n from t", tmp_path / "target")[0] == 1
