"""uv run python -m benchmarks.warning_recall [--users 5000] [--days 120] [--seed 42]

Do churn warnings (marts.fct_churn_warnings) find the users the generator made churn?
Generates a seeded landing, runs the whole pipeline over it and prints, on the snapshot
day, the share of users with a warning among the users the generator made stop within
the churn standard before that day, and among the users it keeps alive.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

log = logging.getLogger("benchmarks.warning_recall")


def _table(warehouse: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def warned_shares(warehouse: Path, truth: pd.DataFrame,
                  churn_days: int = 30) -> dict[str, float | int]:
    """Share of users with a churn warning on the snapshot day among the users the
    generator made stop within `churn_days` before it (so the pipeline's churn standard
    marks them churned within the next churn_days), and among the users it keeps alive.
    The generator's churn is abrupt (activity stops on churn_date): "before they churn"
    is the time between their last visit and the day the churn standard is reached."""
    warned = set(_table(warehouse, "select user_id from marts.fct_churn_warnings")["user_id"])
    users = _table(warehouse, "select user_id, snapshot_date from marts.dim_users")
    snapshot = pd.Timestamp(users["snapshot_date"].iloc[0]).date()
    truth = truth[truth["user_id"].isin(users["user_id"])]
    churn = pd.to_datetime(truth["churn_date"]).dt.date
    signed = pd.to_datetime(truth["signup_date"]).dt.date
    stopping = truth[churn.notna() & (churn <= snapshot)
                     & (churn > snapshot - dt.timedelta(days=churn_days))]
    alive = truth[churn.isna() & (signed <= snapshot)]
    return {"snapshot": str(snapshot),
            "stopping_users": len(stopping),
            "stopping_warned_share": float(stopping["user_id"].isin(warned).mean()),
            "alive_users": len(alive),
            "alive_warned_share": float(alive["user_id"].isin(warned).mean()),
            "warned_users": len(warned)}


def main(argv: list[str] | None = None) -> int:
    from orchestration.runner import run_pipeline
    from orchestration.settings import Settings
    from sample_data.generator import GeneratorParams, generate, write_landing

    p = argparse.ArgumentParser(prog="python -m benchmarks.warning_recall", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    params = GeneratorParams(users=args.users, days=args.days, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = generate(params)
        write_landing(data, root / "landing", params)
        config = root / "userops.yaml"
        config.write_text(f"paths:\n  landing: {root / 'landing'}\n"
                          f"  warehouse: {root / 'warehouse.duckdb'}\n")
        settings = Settings.build(config)
        last = params.start + dt.timedelta(days=params.days - 1)
        run_pipeline(settings, params.start, last, False, log_level="WARNING")
        shares = warned_shares(settings.warehouse, data.truth)
    print(f"{args.users} users x {args.days} days (seed {args.seed}), "
          f"snapshot {shares['snapshot']}:")
    print(f"  warned among users the generator stopped in the last 30 days: "
          f"{shares['stopping_warned_share']:.1%} of {shares['stopping_users']}")
    print(f"  warned among users it keeps alive:                          "
          f"{shares['alive_warned_share']:.1%} of {shares['alive_users']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
