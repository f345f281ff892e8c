"""uv run python -m benchmarks [SIZE ...] [--days 365] [--engines duckdb,spark] [--plain]
[--tiny] [--cdnow]

Generates seeded landings of about SIZE events (1M, 10M, 100M) over --days days, one
Parquet file per day, runs the whole pipeline over them in a fresh process and prints the
figures; writes them as JSON under benchmarks/results/. Landings and warehouses go to
--out (default benchmarks/out, ignored by git).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmarks.harness import (
    bench_cdnow,
    bench_size,
    bench_tiny,
    machine,
    parse_size,
    summary_lines,
    write_results,
)
from benchmarks.targets import evaluate, table

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sizes", nargs="*", help="events per landing: 1M, 10M, 100M")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--histories", default="",
                   help="extra history lengths in days for the next-day run, e.g. 180")
    p.add_argument("--no-incremental", action="store_true", help="skip the next-day runs")
    p.add_argument("--plain", action="store_true",
                   help="the defaults alone, without the analyst's funnel, breakdown and "
                   "segment (harness.ANALYST)")
    p.add_argument("--tiny", action="store_true", help="the fixed cost: a tiny one-day run")
    p.add_argument("--cdnow", action="store_true", help="the 546-day CDNOW backfill")
    p.add_argument("--engines", default="duckdb",
                   help="comma-separated: duckdb, spark (needs `uv sync --extra spark` and Java)")
    p.add_argument("--out", type=Path, default=HERE / "out")
    p.add_argument("--results", type=Path, default=HERE / "results")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    histories = [int(h) for h in a.histories.split(",") if h]
    results: dict = {"machine": machine(), "days": a.days, "seed": a.seed, "sizes": {}}
    for size in a.sizes:
        r = bench_size(parse_size(size), a.days, a.out, a.seed, histories,
                       incremental=not a.no_incremental,
                       engines=tuple(e for e in a.engines.split(",") if e),
                       analyst=not a.plain)
        results["sizes"][r.label] = r.figures
    if a.tiny:
        results["tiny"] = bench_tiny(a.out)
    if a.cdnow:
        results["cdnow"] = bench_cdnow(a.out)
    path = write_results(results, a.results)
    print("\n".join(summary_lines(results)))
    print("\n".join(table(evaluate(results))))
    print(f"figures: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
