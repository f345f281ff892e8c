"""What Dagster's bookkeeping costs: N partitioned no-op assets materialised over D days
in one single-run backfill, against the same assets unpartitioned. The reason the daily
job is unpartitioned (orchestration/window.py).

    uv run python -m benchmarks.dagster_events --assets 4 --days 200
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import warnings

import yaml
from dagster import (
    AssetSelection,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    asset,
    define_asset_job,
)

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _assets(n: int, partitions):
    def make(i):
        @asset(name=f"a{i}", partitions_def=partitions,
               backfill_policy=BackfillPolicy.single_run() if partitions else None)
        def a() -> MaterializeResult:
            return MaterializeResult()
        return a
    return [make(i) for i in range(n)]


def measure(n_assets: int, days: int, partitioned: bool) -> float:
    warnings.simplefilter("ignore")
    start = dt.date(2024, 1, 1)
    parts = DailyPartitionsDefinition(start_date=start.isoformat()) if partitioned else None
    defs = Definitions(assets=_assets(n_assets, parts),
                       jobs=[define_asset_job("j", selection=AssetSelection.all())])
    home = tempfile.mkdtemp(prefix="dagster_events_")
    with open(os.path.join(home, "dagster.yaml"), "w") as fh:
        yaml.safe_dump({"telemetry": {"enabled": False}}, fh)
    tags = {RANGE_START: start.isoformat(),
            RANGE_END: (start + dt.timedelta(days=days - 1)).isoformat()} if partitioned else {}
    with DagsterInstance.from_config(home) as instance:
        t0 = time.perf_counter()
        result = defs.resolve_job_def("j").execute_in_process(
            instance=instance, run_config=QUIET, tags=tags)
        assert result.success
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=4)
    parser.add_argument("--days", type=int, default=200)
    a = parser.parse_args()
    flat = measure(a.assets, a.days, partitioned=False)
    parted = measure(a.assets, a.days, partitioned=True)
    records = a.assets * a.days
    print(f"{a.assets} assets unpartitioned: {flat:.1f} s; over {a.days} daily partitions: "
          f"{parted:.1f} s = {1000 * (parted - flat) / records:.1f} ms per asset and day")


if __name__ == "__main__":
    main()
