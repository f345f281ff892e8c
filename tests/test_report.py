"""The daily report (report.html): published with every run, rebuilt by `userops report`,
drawn by a real headless browser with the network off, and showing the tables' numbers.

The browser is Chromium from the system packages (`.ci/run` installs it when missing),
driven by Playwright; Playwright's own browser download is never used.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.cli import main
from orchestration.report.build import CHECKS_FILE, build_html, latest_run_dir
from orchestration.serving import REPORT_FILE, SERVING_FILE
from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, make_settings, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

ROOT = Path(__file__).resolve().parent.parent
# long enough for every section to have data: a complete signup month, churn labels
PARAMS = GeneratorParams(users=300, days=70, seed=5, start=dt.date(2025, 1, 1))
CHART_SECTIONS = ("active", "sources", "tiers", "growth", "retention", "lifecycle",
                  "channels", "funnel", "funnels", "paths", "segments", "revenue", "rfm", "churn",
                  "loop")


def _chromium() -> str:
    """The system's Chromium; on a fresh Debian machine (as root) installed from the system
    packages first, so the README's test command sets up what it needs."""
    names = ("chromium", "chromium-browser", "google-chrome")
    found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "chromium"], check=True, env=env, stdout=subprocess.DEVNULL)
        found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("no Chromium on this machine: apt-get install chromium")
    return found


def _serving_value(serving: Path, sql: str):
    con = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    landing, days = generated_landing(root, PARAMS)
    settings = make_settings(root, landing, churn={"horizon_days": 14})
    run(settings, days[0], days[-1])
    return settings


def test_every_run_publishes_its_report(report_run):
    serving = report_run.serving
    run_dir = latest_run_dir(serving)
    assert (serving / REPORT_FILE).read_bytes() == (run_dir / REPORT_FILE).read_bytes()
    checks = json.loads((run_dir / CHECKS_FILE).read_text())
    assert len(checks) >= 50 and all({"asset", "check", "passed"} <= set(c) for c in checks)
    assert not (serving / "pending").exists() or not any((serving / "pending").iterdir())


@pytest.fixture(scope="module")
def rendered(report_run, tmp_path_factory):
    """The published page loaded in headless Chromium, offline, with every console message,
    page error and failed or outgoing request recorded."""
    from playwright.sync_api import sync_playwright

    page_file = report_run.serving / REPORT_FILE
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})

        def outgoing(route):
            problems.append(f"request {route.request.url}")
            route.abort()

        context.route(re.compile(r"^(?!file:).*"), outgoing)
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        sections = {}
        for section in page.locator("section").all():
            key = section.get_attribute("data-section")
            sections[key] = {
                "charts": int(section.get_attribute("data-charts")),
                "drawn": section.locator(".js-plotly-plot .main-svg").count(),
                "marks": section.locator(".js-plotly-plot :is(path.point, .trace path, "
                                         ".hm image, .sankey-node, .bars path)").count(),
                "empty": section.locator("p.empty").all_inner_texts(),
            }
        metrics = {m.get_attribute("data-metric"): m.inner_text()
                   for m in page.locator("[data-metric]").all()}
        shot = tmp_path_factory.mktemp("report") / "report.png"
        page.screenshot(path=str(shot))
        if os.environ.get("USEROPS_SCREENSHOT"):  # the README's picture, refreshed on demand
            shutil.copyfile(shot, ROOT / "docs" / "report.png")
        browser.close()
    return {"problems": problems, "sections": sections, "metrics": metrics, "shot": shot}


def test_the_page_draws_offline_without_errors(rendered):
    assert rendered["problems"] == []
    sections = rendered["sections"]
    assert list(sections) == ["checks", *CHART_SECTIONS]
    for key in CHART_SECTIONS:
        s = sections[key]
        assert s["charts"] >= 1 and s["empty"] == [], (key, s)
        # plotly draws each chart into an SVG, and each chart has marks in it
        assert s["drawn"] >= s["charts"], (key, s)
        assert s["marks"] > 0, (key, s)
    assert rendered["shot"].stat().st_size > 20_000


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_numbers_on_the_page_equal_the_tables(rendered, report_run):
    m, serving = rendered["metrics"], report_run.serving
    day, dau, wau, mau = _serving_value(serving, """
        select activity_date, dau, wau, mau from marts.fct_active_users_daily
        where breakdown = 'all' order by activity_date desc limit 1""")
    assert m["date"] == m["as_of"] == day.isoformat()
    assert (_number(m["dau"]), _number(m["wau"]), _number(m["mau"])) == (dau, wau, mau)
    (orders,) = _serving_value(serving, "select sum(paid_orders) from marts.fct_revenue_daily")
    assert _number(m["paid_orders_total"]) == orders
    (rfm_users,) = _serving_value(serving, "select count(*) from marts.user_rfm")
    assert _number(m["rfm_users"]) == rfm_users
    (high,) = _serving_value(serving, "select count(*) from marts.user_churn_scores "
                                      "where risk_band = 'high'")
    assert _number(m["risk_high"]) == high
    (silent,) = _serving_value(serving, "select silent_users from marts.fct_active_user_sources "
                                        "order by activity_date desc limit 1")
    assert _number(m["silent"]) == silent
    (stage,) = _serving_value(serving, "select product_stage from marts.fct_product_stage "
                                       "where is_complete order by month_start desc limit 1")
    assert m["product_stage"] == stage
    # the configured funnel over its latest 7 closed entry days, and the paths after its
    # first step in the latest week
    entered, reached = _serving_value(serving, """
        select sum(users) filter (where step_number = 1), sum(users) filter (where step_number = 3)
        from marts.fct_funnel_daily where funnel = 'discovery' and breakdown = 'all'
          and activity_date > (select max(activity_date) - 7 from marts.fct_funnel_daily
                               where is_complete)
          and activity_date <= (select max(activity_date) from marts.fct_funnel_daily
                                where is_complete)""")
    assert _number(m["funnel_discovery_entered"]) == entered > 0
    assert _number(m["funnel_discovery_converted"]) == reached
    (ended,) = _serving_value(serving, """
        select sum(transitions) filter (where to_event = '(visit ended)') / sum(transitions)
        from marts.fct_event_transitions where from_event = 'search'
          and week_start = (select max(week_start) from marts.fct_event_transitions)""")
    assert _number(m["after_search_ended_share"]) == round(ended, 3)
    (members,) = _serving_value(serving, "select users from marts.fct_segment_summary "
                                         "where segment = 'ios_searchers'")
    assert _number(m["segment_ios_searchers_users"]) == members > 0
    (wau_rate,) = _serving_value(serving, """
        select wau_rate from marts.fct_segment_active_users_daily
        where segment = 'ios_searchers' and activity_date = (
            select max(activity_date) from marts.fct_segment_active_users_daily)""")
    assert _number(m["segment_ios_searchers_wau_rate"]) == round(wau_rate, 3)
    # the failed checks (here a WARN of a degenerate fit) are counted at the top
    checks = json.loads((latest_run_dir(serving) / CHECKS_FILE).read_text())
    failed = [c for c in checks if not c["passed"]]
    assert _number(m["checks_failed"]) == len(failed)
    page = (serving / REPORT_FILE).read_text(encoding="utf-8")
    checks_part = page[page.index('id="s-checks"'):page.index('id="s-active"')]
    assert all(c["check"] in checks_part for c in failed)


def test_userops_report_rebuilds_the_page_in_chinese(report_run, tmp_path, capsys):
    # a copy of the serving folder, so the shared run's page stays as published
    serving = tmp_path / "serving"
    shutil.copytree(report_run.serving, serving)
    con = duckdb.connect(str(serving / SERVING_FILE))
    run_dir = Path(con.execute("select run_dir from publish_info").fetchone()[0])
    copy = serving / "runs" / run_dir.name
    con.execute("update publish_info set run_dir = ?", [str(copy)])
    # the views read the original run folder's files, which stay in place
    con.close()
    (serving / REPORT_FILE).unlink()
    config = tmp_path / "userops.yaml"
    config.write_text(f"report:\n  language: zh\npaths:\n  serving: {serving}\n")
    assert main(["report", "--config", str(config), "-q"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(serving / REPORT_FILE)
    page = (serving / REPORT_FILE).read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "用户运营日报" in page and "留存三角" in page
    assert (copy / REPORT_FILE).read_text(encoding="utf-8") == page


def test_userops_report_without_a_run_says_what_to_do(tmp_path, capsys):
    config = tmp_path / "userops.yaml"
    config.write_text(f"paths:\n  serving: {tmp_path / 'nothing'}\n")
    assert main(["report", "--config", str(config), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run the pipeline first" in err


def test_an_empty_section_says_why():
    """Orders-free data: the revenue and RFM sections explain themselves instead of a blank
    chart; a section whose table is missing says so too."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.fct_revenue_daily (activity_date date, gmv_net double, "
                "arpu double, paid_orders bigint)")
    con.execute("insert into marts.fct_revenue_daily values (date '2025-01-01', 0, 0, 0)")
    con.execute("create table marts.user_rfm (rfm11_segment varchar, monetary double)")
    page = build_html(lambda sql: con.execute(sql).df(), {"fct_revenue_daily", "user_rfm"},
                      [{"asset": "marts/x", "check": "c", "passed": False, "severity": "WARN",
                        "metadata": {"value": 3}}], "en", "Asia/Shanghai",
                      now=pd.Timestamp("2025-01-02 00:30", tz="UTC").to_pydatetime())
    assert "No orders landed, so there is no revenue to show." in page
    assert "No paying users yet: RFM segments need orders." in page
    assert "No activity in the built days." in page  # fct_active_users_daily not built
    # the failed check is listed at the top, and times are in the reporting time zone
    assert page.index("marts/x") < page.index('id="s-active"')
    assert "2025-01-02 08:30 (Asia/Shanghai)" in page


def test_key_marts_carry_a_preview_in_dagster(report_run):
    """The Dagster UI shows a preview and a text chart on the materialization."""
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.from_config(str(report_run.dagster_home)) as instance:
        event = instance.get_latest_materialization_event(
            AssetKey(["marts", "fct_active_users_daily"]))
    metadata = event.asset_materialization.metadata
    day, dau = _serving_value(report_run.serving, """
        select activity_date, dau from marts.fct_active_users_daily
        where breakdown = 'all' order by activity_date desc limit 1""")
    assert f"| {day} | {dau:,} |" in metadata["preview"].value
    assert "**DAU**" in metadata["chart"].value


def test_sparkline_scales_lowest_to_highest():
    from orchestration.report.preview import sparkline

    assert sparkline([0, 7, 3.5, None, 7]) == "▁█▄ █"
    assert sparkline([5, 5]) == "▁▁"
    assert sparkline([]) == ""
