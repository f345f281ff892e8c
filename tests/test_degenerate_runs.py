"""Hand-built landings on which a model cannot be identified: the run completes, every
table is built and published, and the fallback is recorded with its reason."""

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.cli import main
from orchestration.serving import SERVING_FILE
from tests.conftest import read_table, write_config

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

D0 = dt.date(2025, 1, 1)
DAYS = 100


def _at(day: int, seconds: int = 0) -> str:
    return (pd.Timestamp(D0, tz="UTC") + pd.Timedelta(days=day, hours=12, seconds=seconds)
            ).strftime("%Y-%m-%dT%H:%M:%SZ")


def _orders(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"order_id": f"o{i}", "user_id": u, "order_time": _at(d),
                          "amount": a, "status": "paid"} for i, (u, d, a) in enumerate(rows)])


def _visits(user_days: list[tuple[str, int]]) -> pd.DataFrame:
    """One engaged visit per (user, day): a key event and another one a minute later."""
    rows = []
    for u, d in user_days:
        for k, name in enumerate(("search", "view_item")):
            rows.append({"event_id": f"{u}-{d}-{k}", "user_id": u, "event_name": name,
                         "event_time": _at(d, 60 * k)})
    return pd.DataFrame(rows)


def identical_spend() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(4)
    rows = []
    for u in range(80):
        first = int(rng.integers(0, 60))
        for d in sorted({first, *rng.integers(first, DAYS, rng.integers(0, 5)).tolist()}):
            rows.append((f"c{u:03d}", d, 25.0))
    return {"orders": _orders(rows)}


def every_customer_buys_once() -> dict[str, pd.DataFrame]:
    return {"orders": _orders([(f"c{u:03d}", u % DAYS, 10.0 + u) for u in range(80)])}


def all_users_churn() -> dict[str, pd.DataFrame]:
    return {"events": _visits([(f"u{u:03d}", u // 3) for u in range(3 * DAYS)])}


def nobody_churns() -> dict[str, pd.DataFrame]:
    return {"events": _visits([(f"u{u:03d}", d) for u in range(40) for d in range(DAYS)])}


def one_user() -> dict[str, pd.DataFrame]:
    return {"events": _visits([("solo", d) for d in (0, 3, 10, 40, 90)]),
            "orders": _orders([("solo", 3, 12.5), ("solo", 40, 7.0), ("solo", 90, 3.0)])}


CASES = {
    "identical_spend": (identical_spend, {"gamma_gamma": ("degenerate", "population_mean")},
                        ("bgnbd", "ok", "bgnbd")),
    "every_customer_buys_once": (every_customer_buys_once,
                                 {"bgnbd": ("skipped", "none"), "gamma_gamma": ("skipped", "none")},
                                 ("bgnbd", "fallback", "base_rate")),
    "all_users_churn": (all_users_churn, {"bgnbd": ("skipped", "none")},
                        ("supervised", "fallback", "base_rate")),
    "nobody_churns": (nobody_churns, {"bgnbd": ("skipped", "none")},
                      ("supervised", "fallback", "base_rate")),
    "one_user": (one_user, {"bgnbd": ("skipped", "none")},
                 ("supervised", "insufficient_history", "none")),
}


def _land(root: Path, frames: dict[str, pd.DataFrame]) -> Path:
    landing = root / "landing"
    for entity, frame in frames.items():
        (landing / entity).mkdir(parents=True)
        frame.to_csv(landing / entity / f"{entity}.csv", index=False)
    return landing


@pytest.mark.parametrize("case", list(CASES))
def test_degenerate_landing_completes_publishes_and_records_the_fallback(tmp_path, capsys,
                                                                         case):
    build, value_runs, churn_run = CASES[case]
    landing = _land(tmp_path, build())
    cfg = write_config(tmp_path, landing, churn={"horizon_days": 30})
    assert main(["run", "--config", str(cfg), "--start", str(D0),
                 "--end", str(D0 + dt.timedelta(days=DAYS - 1)), "-q"]) == 0
    out = capsys.readouterr().out
    warehouse = tmp_path / "warehouse.duckdb"

    runs = read_table(warehouse, "marts.value_model_runs", "model").set_index("model")
    for model, (status, method) in value_runs.items():
        assert (runs.loc[model, "status"], runs.loc[model, "method"]) == (status, method)
        assert runs.loc[model, "reason"], model  # a fallback always says why
    churn_row = read_table(warehouse, "marts.churn_model_runs", "snapshot_date",
                           "method <> 'backtest'").iloc[-1]
    assert (churn_row["method"], churn_row["status"], churn_row["scored_with"]) == churn_run
    assert churn_row["message"]
    scores = read_table(warehouse, "marts.user_churn_scores", "user_id")
    if churn_run[2] != "none":
        assert len(scores) > 0 and (scores["method"] == churn_run[2]).all()
        assert scores["churn_probability"].between(0, 1).all()
    else:
        assert scores.empty

    # the CLI names each fallback on one line, with its reason
    fallback_lines = [line for line in out.splitlines() if line.startswith("model fallback:")]
    expected = sum(s != "ok" for s, _ in value_runs.values()) + (churn_run[1] != "ok")
    assert len(fallback_lines) >= expected, out

    # every marts table was built and published
    con = duckdb.connect(str(warehouse), read_only=True)
    built = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                       "where table_schema = 'marts'").fetchall()}
    con.close()
    serving = tmp_path / "serving"
    stamp = duckdb.connect(str(serving / SERVING_FILE), read_only=True).execute(
        "select stamp from publish_info").fetchone()[0]
    manifest = json.loads((serving / "runs" / stamp / "manifest.json").read_text())
    assert set(manifest["rows"]) == built
    assert {"user_clv", "user_churn_scores", "value_model_runs", "dim_users",
            "user_winback"} <= built
