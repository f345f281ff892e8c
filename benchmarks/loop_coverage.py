"""uv run python -m benchmarks.loop_coverage [--seeds 20] [--users 5000] [--days 120]

Do the action-outcome intervals cover the truth? For each seed: generate a landing whose
simulated team has known effects per action (sample_data/team.py), run the whole
pipeline, and check whether each action's 95 % interval in marts.fct_action_outcomes
(overall, first window) holds the true return uplift, and the coupon's interval the true
conversion uplift. Prints the share of intervals that cover their truth per action and
overall, which should be near 95 %, and how often each verdict came out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import duckdb


def one_seed(seed: int, users: int, days: int) -> list[tuple[str, str, bool, str]]:
    """(action, outcome, covered, verdict) for each interval of one generated landing."""
    from orchestration.runner import run_pipeline
    from orchestration.settings import Settings
    from sample_data.generator import GeneratorParams, generate, write_landing

    params = GeneratorParams(users=users, days=days, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = generate(params)
        write_landing(data, root / "landing", params)
        config = root / "userops.yaml"
        config.write_text(f"paths:\n  landing: {root / 'landing'}\n"
                          f"  warehouse: {root / 'warehouse.duckdb'}\n"
                          "schedule:\n  enabled: false\n")
        settings = Settings.build(config)
        last = params.start + dt.timedelta(days=days - 1)
        run_pipeline(settings, params.start, last, False, log_level="ERROR")
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        out = con.execute(
            "select * from marts.fct_action_outcomes where cohort_week is null and "
            "channel = 'all' and outcome_days = (select min(outcome_days) from "
            "marts.fct_action_outcomes)").df().set_index("action_key")
        con.close()
    truth = data.action_effects.set_index("action_key")
    rows = []
    for key, row in out.iterrows():
        for outcome in ("return", "conversion"):
            true = truth.loc[key, f"true_{outcome}_uplift"]
            if outcome == "conversion" and true == 0 and key != "churn_risk:high":
                continue  # no purchase in the action: nothing to cover but a trivial 0
            covered = row[f"{outcome}_uplift_low"] <= true <= row[f"{outcome}_uplift_high"]
            rows.append((key, outcome, bool(covered), row["verdict"]))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.loop_coverage", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--days", type=int, default=120)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    hits: dict[tuple[str, str], list[bool]] = defaultdict(list)
    verdicts: dict[str, Counter] = defaultdict(Counter)
    for seed in range(1, args.seeds + 1):
        for key, outcome, covered, verdict in one_seed(seed, args.users, args.days):
            hits[(key, outcome)].append(covered)
            if outcome == "return":
                verdicts[key][verdict] += 1
        print(f"seed {seed} done", flush=True)
    print(f"{args.seeds} seeds, {args.users} users x {args.days} days: "
          "share of 95 % intervals that hold the true effect")
    for (key, outcome), covered in sorted(hits.items()):
        print(f"  {key:22s} {outcome:10s} {sum(covered)}/{len(covered)} "
              f"({sum(covered) / len(covered):.0%})  verdicts {dict(verdicts[key])}"
              if outcome == "return" else
              f"  {key:22s} {outcome:10s} {sum(covered)}/{len(covered)} "
              f"({sum(covered) / len(covered):.0%})")
    every = [c for covered in hits.values() for c in covered]
    print(f"  all intervals          {sum(every)}/{len(every)} ({sum(every) / len(every):.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
