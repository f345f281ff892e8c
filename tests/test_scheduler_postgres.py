"""The documented production deployment (docs/OPERATIONS.md, "Deploy"), run for real:
a throwaway PostgreSQL server on 127.0.0.1, `examples/dagster_postgres.yaml` as the
instance, `dagster-daemon run` evaluating the daily schedule and `dagster-webserver`
showing the result. The daemon's tick launches a run over the right window, the run
completes, its history is in PostgreSQL, and a second evaluation for the same day (the
schedule moved) launches nothing. Every server is a child that dies with the test process."""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunsFilter,
    SkipReason,
    build_schedule_context,
)

from orchestration.cli import main
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from orchestration.window import WINDOW_END_TAG
from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, write_config
from tests.servers import die_with_parent, free_port, serving, wait_for

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
def _pg_bin() -> Path:
    """Debian's PostgreSQL server; on a fresh Debian machine (as root) installed from the
    system packages first, so the README's test command sets up what it needs."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "postgresql"], check=True, env=env, stdout=subprocess.DEVNULL)
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        raise RuntimeError("no PostgreSQL server on this machine: apt-get install postgresql")
    return found[-1].parent


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A throwaway cluster: initdb in a temporary folder, the server on a free port of
    127.0.0.1 (PostgreSQL refuses to run as root: as the `postgres` user then)."""
    bindir = _pg_bin()
    folder = Path(tempfile.mkdtemp(prefix="userops-pg-"))
    as_user: dict = {}
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    data, log, port = folder / "data", folder / "server.log", free_port()
    subprocess.run([bindir / "initdb", "-D", data, "-U", "userops", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, **as_user)
    with log.open("w") as out:
        server = subprocess.Popen(
            [bindir / "postgres", "-D", data, "-p", str(port), "-k", folder,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent, **as_user)

    def connect(db: str = "postgres"):
        return psycopg2.connect(host="127.0.0.1", port=port, user="userops", dbname=db)

    def ready() -> bool:
        try:
            connect().close()
            return True
        except psycopg2.OperationalError:
            return False

    try:
        wait_for("PostgreSQL accepts connections", 60, ready, log)
        con = connect()
        con.autocommit = True
        con.cursor().execute("create database dagster")
        con.close()
        yield {"USEROPS_PG_HOST": "127.0.0.1", "USEROPS_PG_PORT": str(port),
               "USEROPS_PG_USER": "userops", "USEROPS_PG_PASSWORD": "",
               "USEROPS_PG_DB": "dagster"}
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def _timezone(now: dt.datetime) -> str:
    """A reporting time zone where the next minutes are not near midnight, so both ticks
    fall on the same day (UTC and UTC+8 are never both within 2 h of midnight)."""
    return "UTC" if 2 <= now.hour < 22 else "Asia/Shanghai"


def _tick_minute(tz: str, lead_seconds: int) -> tuple[int, dt.datetime]:
    """The first whole minute at least `lead_seconds` from now (the daemon must load the
    code first): minutes after midnight, and its time."""
    now = dt.datetime.now(ZoneInfo(tz))
    tick = (now + dt.timedelta(seconds=lead_seconds + 59)).replace(second=0, microsecond=0)
    return tick.hour * 60 + tick.minute, tick


def _ticks(pg: dict[str, str]) -> list[dict]:
    """The schedule's ticks, read from PostgreSQL itself."""
    con = psycopg2.connect(host=pg["USEROPS_PG_HOST"], port=pg["USEROPS_PG_PORT"],
                           user=pg["USEROPS_PG_USER"], dbname=pg["USEROPS_PG_DB"])
    try:
        cur = con.cursor()
        cur.execute("select status, tick_body from job_ticks order by timestamp")
        return [{**json.loads(body), "status": s} for s, body in cur.fetchall()]
    finally:
        con.close()


def _rows(pg: dict[str, str], sql: str) -> int:
    con = psycopg2.connect(host=pg["USEROPS_PG_HOST"], port=pg["USEROPS_PG_PORT"],
                           user=pg["USEROPS_PG_USER"], dbname=pg["USEROPS_PG_DB"])
    try:
        cur = con.cursor()
        cur.execute(sql)
        return cur.fetchone()[0]
    finally:
        con.close()


def test_the_daemon_runs_the_daily_schedule_with_its_history_in_postgres(
        postgres, tmp_path, capsys, monkeypatch):
    for name, value in postgres.items():  # this process reads the instance too
        monkeypatch.setenv(name, value)
    tz = _timezone(dt.datetime.now(dt.UTC))
    yesterday = dt.datetime.now(ZoneInfo(tz)).date() - dt.timedelta(days=1)
    first = yesterday - dt.timedelta(days=9)
    landing, _ = generated_landing(tmp_path, GeneratorParams(users=150, days=10, seed=11,
                                                             start=first))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "examples" / "dagster_postgres.yaml", home / "dagster.yaml")

    def configure(minute: int) -> Path:
        return write_config(tmp_path, landing, start_date=first.isoformat(), timezone=tz,
                            schedule={"enabled": True, "minutes_after_midnight": minute})

    minute, tick_at = _tick_minute(tz, 75)
    cfg = configure(minute)
    env = {**os.environ, **postgres, "DAGSTER_HOME": str(home), "USEROPS_CONFIG": str(cfg)}
    daemon = [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"]
    log = tmp_path / "daemon.log"

    with DagsterInstance.from_config(str(home)) as instance:
        def finished_runs():
            return instance.get_runs(filters=RunsFilter(statuses=[
                DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE,
                DagsterRunStatus.CANCELED]))

        with serving(daemon, env, log, cwd=PROJECT):
            wait = (tick_at - dt.datetime.now(ZoneInfo(tz))).total_seconds()
            runs = wait_for("the scheduled run", wait + 420, finished_runs, log)
        assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS], log.read_text()[-3000:]
        run = runs[0]
        assert run.tags[WINDOW_END_TAG] == yesterday.isoformat()
        assert run.tags["dagster/schedule_name"] == "daily_pipeline_schedule"

    # the history lives in PostgreSQL: the run, its events and the tick
    assert _rows(postgres, "select count(*) from runs where status = 'SUCCESS'") == 1
    assert _rows(postgres, "select count(*) from event_logs") > 100
    assert [t["status"] for t in _ticks(postgres)] == ["SUCCESS"]
    # and the run caught up over every landed day (a first build), through yesterday
    capsys.readouterr()
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["published_through"] == yesterday.isoformat()
    assert status["holes"] == [] and status["unpublished"] == []
    assert status["last_run"]["status"] == "SUCCESS"
    assert status["last_run"]["window"] == f"catch-up .. {yesterday}"

    # A second tick on the same day (the schedule moved to a later minute and the daemon
    # restarted, as after a redeploy) launches nothing: the schedule, evaluated against
    # the PostgreSQL instance as the daemon evaluates it, skips. (Waiting for a real
    # second cron minute cost the suite 90 s; the daemon's tick above is the real one.)
    later = _tick_minute(tz, 120)[1]
    defs = build_definitions(Settings.build(configure(later.hour * 60 + later.minute)))
    schedule = defs.resolve_schedule_def("daily_pipeline_schedule")
    with (DagsterInstance.from_config(str(home)) as instance,
          build_schedule_context(instance=instance, scheduled_execution_time=later) as ctx):
        result = schedule(ctx)
    assert isinstance(result, SkipReason), result
    assert "exists already" in result.skip_message and run.run_id in result.skip_message

    # and the web UI reads the same history
    port = free_port()
    webserver = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
                 "-w", "workspace.yaml"]
    with serving(webserver, env, tmp_path / "web.log", cwd=PROJECT):
        query = {"query": "{ runsOrError { ... on Runs { results { runId status } } } }"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql", data=json.dumps(query).encode(),
            headers={"Content-Type": "application/json"})

        def ui_runs():
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.load(response)["data"]["runsOrError"]["results"]
            except OSError:
                return None

        shown = wait_for("dagster-webserver answers", 120, ui_runs, tmp_path / "web.log")
    assert _rows(postgres, "select count(*) from runs") == 1
    assert [(r["runId"], r["status"]) for r in shown] == [(run.run_id, "SUCCESS")]
