"""uv run python -m benchmarks.backtest WAREHOUSE [--max-training-rows 100000]

Times the churn backtest (models/challengers.py) on a built warehouse, e.g. the
benchmark's `benchmarks/out/cdnow/warehouse.duckdb` or `.../10M/run_365d/warehouse.duckdb`:
the read of its inputs, the whole backtest, and the fitting time of each candidate summed
over the folds (BG/NBD's fit, shared by its candidate and the supervised model's
features, is its own line). Opens the warehouse read-only: no run may be writing it.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from models import challengers
from orchestration.assets.churn_challengers import FEATURE_COLUMNS, FEATURES_TABLE, SUMMARIES_TABLE
from orchestration.config import parse_config
from orchestration.model_settings import backtest_settings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.backtest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("warehouse", type=Path)
    p.add_argument("--max-training-rows", type=int, default=100_000)
    p.add_argument("--btyd-max-customers", type=int, default=50_000)
    a = p.parse_args(argv)
    con = duckdb.connect(str(a.warehouse), read_only=True)
    try:
        start = time.perf_counter()
        features = con.execute(
            f"select {', '.join(FEATURE_COLUMNS)} from {FEATURES_TABLE} "
            "where is_churned is not null order by feature_date, user_id").df()
        summaries = con.execute(
            f"select * from {SUMMARIES_TABLE} order by cutoff_date, user_id").df()
        read_s = time.perf_counter() - start
    finally:
        con.close()

    spent: dict[str, float] = defaultdict(float)
    fit_candidate, bgnbd = challengers.fit_candidate, challengers._bgnbd_or_none

    def timed_candidate(name, *args, **kwargs):
        t = time.perf_counter()
        try:
            return fit_candidate(name, *args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - t

    def timed_bgnbd(*args, **kwargs):
        t = time.perf_counter()
        try:
            return bgnbd(*args, **kwargs)
        finally:
            spent["bgnbd fit (shared)"] += time.perf_counter() - t

    settings = dataclasses.replace(backtest_settings(parse_config({})),
                                   max_training_rows=a.max_training_rows,
                                   btyd_max_customers=a.btyd_max_customers)
    challengers.fit_candidate, challengers._bgnbd_or_none = timed_candidate, timed_bgnbd
    try:
        start = time.perf_counter()
        result = challengers.backtest(features, summaries, settings)
        total = time.perf_counter() - start
    finally:
        challengers.fit_candidate, challengers._bgnbd_or_none = fit_candidate, bgnbd
    folds = int(result.rows["fold"].nunique()) if not result.rows.empty else 0
    print(f"{a.warehouse}: {len(features):,} labelled feature rows, {len(summaries):,} "
          f"summary rows, read in {read_s:.1f} s")
    print(f"backtest: {total:.1f} s over {folds} folds; champion {result.champion}")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
