"""The CLI, and the real CDNOW transactions end to end (orders-only mode)."""

import datetime as dt

import pandas as pd
import pytest

from orchestration.cli import main
from sample_data.cdnow import DEFAULT_CDNOW_DIR, read_cdnow_master
from tests.conftest import overall, read_table, write_config
from tests.reference import active_users_daily

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs


def test_generate_command_writes_a_landing(tmp_path, capsys):
    out = tmp_path / "land"
    rc = main(["generate", "--out", str(out), "--users", "40", "--days", "5", "--seed", "3", "-q"])
    assert rc == 0
    assert len(list((out / "events").glob("*.parquet"))) == 5


def test_bad_config_exits_2_with_the_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("activity:\n  bounce_min_event: 3\n")
    rc = main(["run", "--config", str(cfg), "--landing", str(tmp_path)])
    assert rc == 2
    assert "activity.bounce_min_event: unknown key" in capsys.readouterr().err


def test_run_before_start_date_is_a_clear_error(tmp_path, capsys):
    land = tmp_path / "land"
    main(
        [
            "generate",
            "--out",
            str(land),
            "--users",
            "20",
            "--days",
            "3",
            "--start",
            "2025-01-01",
            "-q",
        ]
    )
    cfg = write_config(tmp_path, land, start_date="2025-02-01")
    rc = main(["run", "--config", str(cfg), "--start", "2025-01-01", "--end", "2025-01-02", "-q"])
    assert rc == 2
    assert "before start_date 2025-02-01" in capsys.readouterr().err


def test_a_run_elsewhere_publishes_beside_its_warehouse_and_prints_little(tmp_path, capsys):
    """No paths.serving / dagster_home in the config and --warehouse elsewhere: both go
    beside that warehouse. The default output (progress and summary, no log lines of the
    libraries) is short and, off a terminal, free of escape codes."""
    land = tmp_path / "land"
    assert main(["generate", "--out", str(land), "--users", "30", "--days", "3", "-q"]) == 0
    cfg = tmp_path / "userops.yaml"
    cfg.write_text(f"paths:\n  landing: {land}\nschedule:\n  enabled: false\n")
    capsys.readouterr()
    warehouse = tmp_path / "elsewhere" / "shop.duckdb"
    assert main(["run", "--config", str(cfg), "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr()
    serving = tmp_path / "elsewhere" / "shop-serving"
    assert (serving / "serving.duckdb").exists() and (serving / "report.html").exists()
    assert (tmp_path / "elsewhere" / "shop-dagster_home" / "logs" / "last_run.log").exists()
    printed = out.out + out.err
    assert "\x1b" not in printed and "\r" not in printed
    assert len(printed.splitlines()) <= 30, printed
    assert "[ 1/" in out.err and "landing" in out.err  # progress, a plain line per stage
    assert f"report:           {serving / 'report.html'}" in out.out
    assert " PASS " not in printed  # dbt's result lines went to the run's log file


def test_an_empty_landing_is_one_line_that_says_what_to_do(tmp_path, capsys):
    (tmp_path / "land" / "events").mkdir(parents=True)
    cfg = write_config(tmp_path, tmp_path / "land")
    assert main(["run", "--config", str(cfg), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holding .parquet, .csv, .tsv or .jsonl files" in err
    assert "Traceback" not in err and "--verbose" not in err  # an expected error, explained


@pytest.fixture(scope="module")
def cdnow_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cdnow")
    land = root / "landing"
    assert main(["load-cdnow", "--out", str(land), "-q"]) == 0
    # activity.source stays auto; churn is evaluated on weeks 40-78 as in the papers; no
    # start_date: the run starts at the landing's first day, in 1997
    cfg = write_config(root, land, start_date=None, churn={"holdout_days": 273})
    assert main(["run", "--config", str(cfg), "-q"]) == 0  # range: every day in the landing
    return root / "warehouse.duckdb"


def test_cdnow_lands_every_row(cdnow_run):
    orders = read_table(cdnow_run, "raw.orders", "order_id")
    master = read_cdnow_master(DEFAULT_CDNOW_DIR / "CDNOW_master.txt")
    assert len(orders) == len(master) == 69659
    assert read_table(cdnow_run, "raw.quarantine", "source_row").empty
    assert orders["user_id"].nunique() == 23570
    assert abs(orders["amount"].sum() - master["dollar_value"].sum()) < 1e-6


def test_cdnow_activity_falls_back_to_purchase_days(cdnow_run):
    master = read_cdnow_master(DEFAULT_CDNOW_DIR / "CDNOW_master.txt")
    active = pd.DataFrame(
        {
            "user_id": "c" + master["customer_id"].str.zfill(5),
            "activity_date": pd.to_datetime(master["date"], format="%Y%m%d").dt.date,
        }
    ).drop_duplicates()
    ref = active_users_daily(active, dt.date(1997, 1, 1), dt.date(1998, 6, 30))
    got = overall(cdnow_run)
    got["activity_date"] = pd.to_datetime(got["activity_date"]).dt.date
    assert len(got) == len(ref) == 546
    merged = got.merge(ref, on="activity_date", suffixes=("", "_ref"))
    for col in ("dau", "wau", "mau"):
        assert (merged[col] == merged[f"{col}_ref"]).all(), col
    # every CDNOW customer is new exactly once: the cohort of Q1 1997
    assert got["new_users"].sum() == 23570
    assert got.loc[pd.to_datetime(got["activity_date"]) > "1997-03-31", "new_users"].sum() == 0


def _stage_rules(rows: pd.DataFrame) -> list[str]:
    """docs/METRICS.md product stage, applied in Python to the published indicators."""
    out, shrinking = [], []
    for i, r in enumerate(rows.itertuples()):
        nur = 0.0 if pd.isna(r.new_user_ratio) else r.new_user_ratio
        churn = 0.0 if pd.isna(r.churn_rate) else r.churn_rate
        shrinking.append(nur < churn)
        if i + 1 < 3:
            out.append("introduction")
        elif shrinking[-1] and shrinking[-2]:
            out.append("decline")
        elif r.active_users > 1.10 * r.active_users_previous:
            out.append("growth")
        else:
            out.append("mature")
    return out


def test_cdnow_product_stage_follows_the_rules(cdnow_run):
    stage = read_table(cdnow_run, "marts.fct_product_stage", "month_start")
    assert stage["is_complete"].all() and len(stage) == 18
    assert stage["product_stage"].tolist() == _stage_rules(stage)
    # CDNOW is one Q1-1997 cohort: introduction first; with no new users from April on,
    # the new-user ratio (0) stays below the churn rate, so every month from May declines
    by_month = dict(zip(pd.to_datetime(stage["month_start"]).dt.strftime("%Y-%m"),
                        stage["product_stage"], strict=True))  # fmt: skip
    assert by_month["1997-01"] == by_month["1997-02"] == "introduction"
    assert all(by_month[m] == "decline" for m in by_month if m >= "1997-05")
    # growth accounting identities hold on real data too
    ga = read_table(cdnow_run, "marts.fct_growth_accounting", "grain, period_start")
    sources = ga["new_users"] + ga["retained_users"] + ga["resurrected_users"]
    assert (ga["active_users"] == sources).all()
    assert (ga["active_users_previous"] == ga["retained_users"] + ga["churned_users"]).all()


def test_cdnow_builds_every_orders_only_value_table(cdnow_run):
    from tests.test_value_cdnow import ORDERS_ONLY_TABLES

    for table in ORDERS_ONLY_TABLES:
        assert len(read_table(cdnow_run, table, "1")) > 0, table
    users = read_table(cdnow_run, "marts.dim_users", "user_id")
    assert len(users) == 23570 and users["risk_band"].notna().all()
    run = read_table(cdnow_run, "marts.churn_model_runs", "snapshot_date").iloc[0]
    assert (run["method"], run["status"], str(run["test_day"])[:10]) == (
        "bgnbd", "ok", "1997-09-30")
    assert 0.5 < run["model_auc"] < 1 and 0.5 < run["baseline_auc"] < 1
