"""dbt runs in this process: its events reach Dagster as before, its errors are readable,
and it leaves the warehouse closed behind it."""

import datetime as dt
import json

import duckdb
import pytest
import yaml

from orchestration.dbt.helpers import vars_arg, write_run_window
from orchestration.dbt.project import (
    dbt_resource,
    keep_parse_state,
    parse_state_dir,
)
from orchestration.dbt.runner import DbtError
from orchestration.settings import Settings
from orchestration.warehouse.duck import DuckDBWarehouse
from tests.conftest import make_settings, write_config


@pytest.fixture()
def settings(tmp_path):
    return make_settings(tmp_path, tmp_path / "landing")


def test_a_failing_dbt_command_raises_with_dbts_own_message(settings, tmp_path):
    invocation = dbt_resource(settings).invoke(
        ["show", "--inline", "select * from no_such_table_here"], target_path=tmp_path / "t")
    with pytest.raises(DbtError, match="no_such_table_here"):
        invocation.wait()
    assert invocation.success is False


def test_after_dbt_the_warehouse_opens_with_other_settings(settings, tmp_path):
    invocation = dbt_resource(settings).invoke(["show", "--inline", "select 42 as answer"],
                                               target_path=tmp_path / "t").wait()
    assert invocation.success
    # dbt-duckdb would keep its database open in this process: a read-only connection
    # with another memory limit would then fail ("different configuration")
    con = duckdb.connect(str(settings.warehouse), read_only=True,
                         config={"memory_limit": "300MB"})
    con.close()



def test_tests_of_daily_tables_check_the_rebuilt_days_or_all_on_a_full_build(
        settings, tmp_path, capsys):
    """The test filter of the daily tables (macros/test_window.sql): a daily run tests from
    window_start - lookback_days on; a full refresh or a first run tests every day. Written
    as a literal (so a scan can skip older row groups); the staged events' filter starts
    at midnight UTC two days earlier."""
    def rebuilt_from(*windows: tuple[str, bool]) -> str:
        wh = DuckDBWarehouse(str(settings.warehouse), "1GB")
        for day, full_refresh in windows:
            write_run_window(wh, dt.date.fromisoformat(day), dt.date.fromisoformat(day),
                             full_refresh)
        capsys.readouterr()
        dbt_resource(settings).invoke(
            ["show", *vars_arg(settings.config.dbt_vars()), "--output", "json", "--inline",
             "select {{ rebuilt_from() }} as day, '{{ rebuilt_from() | replace(\"'\", '') }}'"
             " as written, cast({{ landed_rebuilt_from() }} as date) as landed"],
            target_path=tmp_path / "show").wait()
        out = capsys.readouterr().out
        row = json.loads(out[out.index("{"):out.rindex("}") + 1])["show"][0]
        assert row["written"] == f"cast({row['day']} as date)", row
        landed = dt.date.fromisoformat(row["day"]) - dt.timedelta(days=2)
        assert row["landed"] == landed.isoformat(), row
        return row["day"]

    assert settings.config.incremental.lookback_days == 2
    assert rebuilt_from(("2025-03-10", False)) == "1900-01-01"  # a first run
    assert rebuilt_from(("2025-03-11", False)) == "2025-03-09"
    assert rebuilt_from(("2025-03-11", True)) == "1900-01-01"   # a full refresh


def _parse_log(settings, target) -> str:
    invocation = dbt_resource(settings).invoke(["parse", *vars_arg(settings.config.dbt_vars())],
                                    target_path=target).wait()
    assert invocation.success
    keep_parse_state(settings, target)
    return (target / "dbt.log").read_text()


def test_warehouses_in_other_folders_share_one_parse_state(tmp_path):
    """dbt re-parses the whole project when its profile changes, and the warehouse path is
    in the profile: the first run of each new warehouse (every test, every benchmark)
    paid a full parse. The path is left out of dbt's check, the database name is not."""
    first = make_settings(tmp_path / "a", tmp_path / "landing")
    _parse_log(first, tmp_path / "t1")
    elsewhere = make_settings(tmp_path / "b" / "deeper", tmp_path / "landing")
    assert parse_state_dir(elsewhere) == parse_state_dir(first)
    log = _parse_log(elsewhere, tmp_path / "t2")
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log

    renamed = make_settings(tmp_path / "c", tmp_path / "landing",
                            paths={"warehouse": str(tmp_path / "c" / "other.duckdb")})
    assert parse_state_dir(renamed) != parse_state_dir(first)
    other_vars = make_settings(tmp_path / "d", tmp_path / "landing",
                               incremental={"lookback_days": 5})
    assert parse_state_dir(other_vars) != parse_state_dir(first)


def test_two_configurations_in_one_process_each_reach_their_own_warehouse(tmp_path, capsys):
    """Settings are values of the dbt resource, set for each invocation only: two
    configurations used in turn in one process each reach their own warehouse with their
    own memory limit, and nothing of either is left in the process's environment."""
    import os

    a = make_settings(tmp_path / "a", tmp_path / "landing")
    b = make_settings(tmp_path / "b", tmp_path / "landing",
                      warehouse={"memory_limit": "700MB"})
    before = {k: v for k, v in os.environ.items() if k.startswith(("USEROPS_", "DBT_"))}

    def limit(settings) -> str:
        capsys.readouterr()
        invocation = dbt_resource(settings).invoke(
            ["show", "--output", "json", "--inline",
             "select current_setting('memory_limit') as memory_limit"],
            target_path=settings.warehouse.parent / "t").wait()
        assert invocation.success
        out = capsys.readouterr().out
        return json.loads(out[out.index("{"):out.rindex("}") + 1])["show"][0]["memory_limit"]

    first_a, first_b, again_a = limit(a), limit(b), limit(a)
    assert first_a == again_a != first_b
    assert first_b.startswith("667")  # 700 MB in MiB, as DuckDB reports it
    assert a.warehouse.exists() and b.warehouse.exists()
    assert {k: v for k, v in os.environ.items() if k.startswith(("USEROPS_", "DBT_"))} == before


def test_the_dependency_graph_does_not_change_with_the_configuration(tmp_path):
    """Dagster's asset graph comes from one manifest, dbt's build order from the run's own
    parse: a ref that only some configurations render (a segment's sources, a funnel's
    breakdowns, the attribute breakdowns) would order them differently, and Dagster
    refuses outputs yielded before their dependencies. Models name such sources in
    `-- depends_on:`, whatever the config."""
    def edges(settings, target) -> dict[str, list[str]]:
        invocation = dbt_resource(settings).invoke(
            ["parse", *vars_arg(settings.config.dbt_vars())], target_path=target).wait()
        assert invocation.success
        nodes = json.loads((target / "manifest.json").read_text())["nodes"]
        return {uid: sorted(n["depends_on"]["nodes"]) for uid, n in nodes.items()
                if n["resource_type"] == "model"}

    path = write_config(tmp_path / "bare", tmp_path / "landing")
    cfg = yaml.safe_load(path.read_text())
    for key in ("segments", "funnels", "breakdowns"):  # the defaults: none of them
        cfg.pop(key)
    path.write_text(yaml.safe_dump(cfg))
    bare = Settings.build(path)
    rich = make_settings(tmp_path / "rich", tmp_path / "landing", segments={
        "every_condition": {"attributes": {"region": "north"}, "channel": ["ads"],
                            "platform": ["ios"], "lifecycle": ["new"], "tier": ["high"],
                            "rfm11": ["important_value"], "risk_band": ["high"],
                            "min_events": {"search": 1}}},
        funnels={"f": {"steps": ["a", "b"], "breakdowns": ["platform", "channel",
                                                           "attribute.region"]}},
        breakdowns={"attributes": ["region"]})
    assert edges(bare, tmp_path / "t1") == edges(rich, tmp_path / "t2")


def test_dbt_runs_with_the_configured_memory_limit(tmp_path, capsys):
    """The profile hands the warehouse's memory limit to dbt-duckdb (`settings`, SET on
    each node's cursor; as connect-time `config_options` it would refuse any connection
    this process already holds without it): every node's session sees it."""
    settings = make_settings(tmp_path, tmp_path / "landing", warehouse={"memory_limit": "700MB"})
    capsys.readouterr()
    dbt_resource(settings).invoke(
        ["show", "--output", "json", "--inline",
         "select current_setting('memory_limit') as memory_limit"],
        target_path=tmp_path / "show").wait()
    out = capsys.readouterr().out
    row = json.loads(out[out.index("{"):out.rindex("}") + 1])["show"][0]
    assert row["memory_limit"] in {"700.0 MB", "667.5 MiB"}, row
