"""uv run python -m benchmarks.history_size [--days 365] [--keep-days 90] [--users 300]

A year of daily runs, measured on disk: does the run history reach a steady size?

One generated landing of `--days` days. A first run builds the first week, then one run
per day builds the next day, as the schedule does. After each run the age pruning runs
as it would on that simulated day, on a compressed clock where one run is one day: the
cutoff is the creation time of the run `--keep-days` runs back (`prune_history` with the
`now` that makes it so; the publish's own pruning, on the real clock, deletes nothing in
a simulation that lasts minutes). dbt's run folders and the serving's run folders are
pruned by count where they are written, as in production.

Prints, every 30 days and at the end, the bytes of each part of the history (Dagster's
runs and event logs, dbt's run folders, the serving's run folders, the published
worklists) and the warehouse's (data, not history, for scale); then the bytes one day
adds before the pruning starts, and the steady size: the median total of the last 30
days, with the growth over them. Results: benchmarks/results/history_size.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "history_size.json"


def _bytes(path: Path, exclude: tuple[str, ...] = ()) -> int:
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*")
               if p.is_file() and not any(part in exclude for part in p.parts))


def sizes(settings) -> dict[str, int]:
    from orchestration.actions_export import ACTIONS_DIR
    from orchestration.dbt.project import dbt_runs_dir

    home = settings.dagster_home
    return {
        "dagster": _bytes(home, exclude=(dbt_runs_dir(settings).name,)),
        "dbt_runs": _bytes(dbt_runs_dir(settings)),
        "serving_runs": _bytes(settings.serving / "runs"),
        "worklists": _bytes(settings.serving / ACTIONS_DIR),
        "warehouse": _bytes(settings.warehouse) + _bytes(settings.warehouse.parent / (
            settings.warehouse.stem + ".lake")),
    }


HISTORY = ("dagster", "dbt_runs", "serving_runs", "worklists")


def simulate(days: int, keep_days: int, users: int, root: Path) -> list[dict]:
    from dagster import RunsFilter

    from orchestration.history import prune_history
    from orchestration.runner import instance_for, run_pipeline
    from orchestration.settings import Settings
    from sample_data.generator import GeneratorParams, generate, write_landing

    first_week = 7
    params = GeneratorParams(users=users, days=days + first_week, seed=3)
    write_landing(generate(params), root / "landing", params)
    config = root / "userops.yaml"
    config.write_text(f"paths:\n  landing: {root / 'landing'}\n"
                      f"  warehouse: {root / 'warehouse.duckdb'}\n"
                      f"schedule:\n  enabled: false\n  keep_history_days: {keep_days}\n"
                      "landing:\n  settle_seconds: 0\n")
    settings = Settings.build(config)
    start = params.start
    run_pipeline(settings, start, start + dt.timedelta(days=first_week - 1),
                 log_level="ERROR")
    created: list[dt.datetime] = []  # each daily run's creation time: the simulated days
    rows = []
    t0 = time.perf_counter()
    for k in range(days):
        day = start + dt.timedelta(days=first_week + k)
        run_pipeline(settings, day, day, log_level="ERROR")
        with instance_for(settings) as instance:
            last = instance.get_run_records(filters=RunsFilter(), limit=1)[0]
            created.append(last.create_timestamp)
            pruned = {"runs": 0, "worklists": 0}
            if k >= keep_days:
                # on day k, `keep_days` days back is the creation of run k - keep_days
                now = created[k - keep_days] + dt.timedelta(days=keep_days)
                pruned = prune_history(instance, settings.serving, keep_days, now)
            runs = len(instance.get_run_records(filters=RunsFilter()))
        row = {"day": k + 1, **sizes(settings), "dagster_runs": runs, **{
            f"pruned_{key}": v for key, v in pruned.items()}}
        row["history"] = sum(row[key] for key in HISTORY)
        rows.append(row)
        if (k + 1) % 30 == 0 or k + 1 == days:
            print(f"day {k + 1:>4}: history {row['history'] / 1e6:8.2f} MB "
                  f"(dagster {row['dagster'] / 1e6:.2f}, dbt {row['dbt_runs'] / 1e6:.2f}, "
                  f"serving {row['serving_runs'] / 1e6:.2f}, "
                  f"worklists {row['worklists'] / 1e6:.2f}; {runs} Dagster runs), "
                  f"warehouse {row['warehouse'] / 1e6:.1f} MB, "
                  f"{(time.perf_counter() - t0) / (k + 1):.1f} s/run", flush=True)
    return rows


def summarise(rows: list[dict], keep_days: int) -> dict:
    """Bytes a day adds while nothing is pruned (days 2..keep, after the count-pruned
    folders are full at 20 runs), and the steady size over the last 30 days."""
    grow = [b["history"] - a["history"] for a, b in zip(rows[20:keep_days],
                                                         rows[21:keep_days], strict=False)]
    tail = rows[-30:]
    return {
        "bytes_per_day_before_pruning": statistics.median(grow) if grow else None,
        "steady_history_bytes": statistics.median(r["history"] for r in tail),
        "growth_over_last_30_days_bytes": tail[-1]["history"] - tail[0]["history"],
        "steady_dagster_runs": tail[-1]["dagster_runs"],
        "parts_at_end": {key: rows[-1][key] for key in (*HISTORY, "warehouse")},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.history_size",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--keep-days", type=int, default=90)
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        rows = simulate(args.days, args.keep_days, args.users, Path(tmp))
    summary = summarise(rows, args.keep_days)
    print(json.dumps(summary, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                    "summary": summary, "days": rows}, indent=1,
                                   default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
