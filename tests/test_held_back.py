"""A held-back run explains itself: each kind of failure, through the CLI, ends in one
short block (why, with its numbers; what BI still reads; the report; the log) and a
report beside the serving file marked held back, the reasons first."""

import dataclasses
import datetime as dt

import duckdb
import pytest

from data_quality import suites
from orchestration.cli import main
from orchestration.serving import REPORT_FILE, SERVING_FILE
from tests.conftest import SMALL, make_settings, run, write_config

LAST = SMALL.start + dt.timedelta(days=13)  # two whole weeks: weekly alerts are judged
RUN = ["--start", SMALL.start.isoformat(), "--end", LAST.isoformat(), "-q"]


def _held_back(cfg, capsys) -> list[str]:
    capsys.readouterr()
    assert main(["run", "--config", str(cfg), *RUN]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert "Traceback" not in out.err and "dagster - ERROR" not in out.err, out.err
    assert lines[0] == "userops: run held back, nothing was published", out.err
    assert lines[-2].startswith("  full log:   ") and lines[-1] == "  exit code:  2"
    assert len(lines) <= 8, out.err
    return lines


def _stopped_by(lines: list[str]) -> list[str]:
    return [line.removeprefix("  stopped by: ") for line in lines if "stopped by:" in line]


def _report(serving) -> str:
    return (serving / REPORT_FILE).read_text(encoding="utf-8")


@pytest.mark.e2e
def test_a_blocking_alert_holds_the_publish_back_and_the_report_says_why(
        tmp_path, small_landing, capsys):
    cfg = write_config(tmp_path, small_landing,
                       alerts={"quick_ratio_min": 1000, "blocking": ["quick_ratio_low"]})
    lines = _held_back(cfg, capsys)
    [reason] = _stopped_by(lines)
    assert reason.startswith("check marts/fct_alerts alert_quick_ratio_low: week of ")
    assert "quick ratio" in reason and "< 1000" in reason
    assert lines[-4] == "  serving:    nothing published yet"
    serving = tmp_path / "serving"
    assert not (serving / SERVING_FILE).exists()
    page = _report(serving)
    assert 'data-section="held_back"' in page and "Nothing has been published yet." in page
    # the reason comes first in the checks' table
    checks = page[page.index('data-section="checks"'):]
    assert checks.index("alert_quick_ratio_low") < checks.index("</table>")


@pytest.mark.e2e
def test_a_blocking_suite_a_failing_dbt_test_and_a_raising_step_each_explain_themselves(
        tmp_path, small_landing, capsys, monkeypatch):
    settings = make_settings(tmp_path, small_landing)
    cfg = tmp_path / "userops.yaml"
    run(settings, SMALL.start, LAST)  # published once: the serving file stays as it was
    published = (settings.serving / SERVING_FILE).stat().st_mtime_ns

    # a blocking Great Expectations suite
    impossible = suites.Expect("ExpectColumnValuesToBeBetween",
                               {"column": "r_score", "min_value": 0, "max_value": 0})
    suite = suites.SUITES["user_rfm"]
    with monkeypatch.context() as m:
        m.setitem(suites.SUITES, suite.name, dataclasses.replace(
            suite, expectations=(*suite.expectations, impossible)))
        lines = _held_back(cfg, capsys)
    [reason] = _stopped_by(lines)
    assert reason.startswith("check marts/user_rfm gx_user_rfm: ExpectColumnValuesToBeBetween "
                             "on r_score: ")
    assert "still holds the run published" in lines[-4]
    assert "BI still reads the run published" in _report(settings.serving)

    # a step that raises
    with monkeypatch.context() as m:
        def broken(*_):
            raise RuntimeError("the RFM scorer broke")
        m.setattr("models.rfm.score_rfm", broken)
        [reason] = _stopped_by(_held_back(cfg, capsys))
    assert reason.startswith("step marts__user_rfm: the RFM scorer broke")
    page = _report(settings.serving)
    assert "step failed" in page and "the RFM scorer broke" in page

    # a failing dbt test: a landed event given another event's id past the landing
    con = duckdb.connect(str(settings.warehouse))
    con.execute("update landing.events set event_id = (select min(event_id) from "
                "landing.events) where event_id = (select max(event_id) from landing.events)")
    con.close()
    reasons = _stopped_by(_held_back(cfg, capsys))
    assert any("unique_stg_app__events_event_id" in r for r in reasons), reasons
    assert (settings.serving / SERVING_FILE).stat().st_mtime_ns == published
    assert not list((settings.serving / "pending").glob("*"))  # nothing left half-published
