"""The daily-cost targets (issue "a daily run that costs the day"), judged on harness results.

Each target is a ratio or a difference of figures the harness measured: met, missed, or
not measured when its results lack a figure. `python -m benchmarks` prints them for the
run it made; `python -m benchmarks.targets` judges the latest figure of each kind under
benchmarks/results/ and, with `--readme`, writes that table into README.md's Scale section
(tests/test_benchmark_targets.py checks the README matches the committed results).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
BEGIN, END = "<!-- scale-targets:begin -->", "<!-- scale-targets:end -->"


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    figure: str  # "" when not measured
    met: bool | None  # None: not measured

    @property
    def status(self) -> str:
        return "not measured" if self.met is None else ("met" if self.met else "missed")


def _get(d: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _judge(name: str, goal: str, value: float | None, limit: float, fmt: str) -> Target:
    if value is None:
        return Target(name, goal, "", None)
    return Target(name, goal, fmt.format(value), value <= limit)


def _marginal(size: dict | None, tiny: dict | None) -> float | None:
    nxt, one = _get(size, "full", "next_day", "wall_s"), _get(tiny, "rerun_s")
    return None if nxt is None or one is None else nxt - one


def _model_growth(size: dict | None) -> float | None:
    """The largest growth of one dbt model's next-day time from 180 to 365 days."""
    long = _get(size, "full", "next_day", "stages", "dbt_models")
    short = _get(size, "full_180d", "next_day", "stages", "dbt_models")
    if long is None or short is None:
        return None
    return max((t - short.get(m, 0.0) for m, t in long.items()), default=0.0)


def _worst_model_scale(small: dict | None, big: dict | None) -> float | None:
    """max over models of (100 M time / 10 M time) / (100 M floor / 10 M floor)."""
    m10, m100 = _get(small, "full", "stages", "dbt_models"), _get(big, "full", "stages",
                                                                 "dbt_models")
    f10, f100 = _get(small, "full", "floor_s"), _get(big, "full", "floor_s")
    if not (m10 and m100 and f10 and f100):
        return None
    floor_ratio = f100 / f10
    # models under a second at 10 M are start-up cost, not scale
    ratios = [m100[m] / t / floor_ratio for m, t in m10.items() if t >= 1.0 and m in m100]
    return max(ratios, default=None)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def evaluate(results: dict[str, Any]) -> list[Target]:
    """Every target on one results dict (sizes "10M" / "100M", "tiny", "cdnow")."""
    sizes = results.get("sizes", {})
    s10, s100, tiny, cdnow = sizes.get("10M"), sizes.get("100M"), results.get("tiny"), \
        results.get("cdnow")
    full10 = _get(s10, "full")
    n365 = _get(s10, "full", "next_day", "wall_s")
    n180 = _get(s10, "full_180d", "next_day", "wall_s")
    rf10 = _get(s10, "full", "ratio_to_floor")
    rf100 = _get(s100, "full", "ratio_to_floor")
    return [
        _judge("1. marginal day, 10 M events / 365 days", "next day - tiny one-day run <= 5 s",
               _marginal(s10, tiny), 5.0, "{:.1f} s"),
        _judge("1. marginal day, 100 M events", "next day - tiny one-day run <= 15 s",
               _marginal(s100, tiny), 15.0, "{:.1f} s"),
        _judge("2. history independence", "next day at 365 d - at 180 d <= 2 s",
               None if n365 is None or n180 is None else n365 - n180, 2.0, "{:.1f} s"),
        _judge("2. no model grows with history", "each model's next-day growth <= 0.2 s",
               _model_growth(s10), 0.2, "{:.2f} s"),
        _judge("3. fixed cost", "tiny one-day run <= 2 x startup floor",
               # the harness's ratio of the unrounded times (it prints the same figure)
               _get(tiny, "rerun_to_startup_floor")
               or _ratio(_get(tiny, "rerun_s"), _get(tiny, "startup_floor_s")), 2.0, "{:.1f}x"),
        _judge("4. SQL work, 10 M full run", "dbt models <= 8 x floor",
               _ratio(_get(full10, "stages", "dbt_models_total_s"), _get(full10, "floor_s")),
               8.0, "{:.1f}x"),
        _judge("4. landing, 10 M full run", "landing <= 2.5 x floor",
               _ratio(_get(full10, "stages", "steps", "raw_landing"), _get(full10, "floor_s")),
               2.5, "{:.1f}x"),
        _judge("5. churn, 10 M full run", "churn_scores <= 15 s",
               _get(full10, "stages", "steps", "churn_scores"), 15.0, "{:.1f} s"),
        _judge("5. churn, 10 M next day", "churn_scores <= 2 s",
               _get(full10, "next_day", "stages", "steps", "churn_scores"), 2.0, "{:.1f} s"),
        _judge("5. CDNOW 546-day backfill", "<= 20 s", _get(cdnow, "wall_s"), 20.0,
               "{:.1f} s"),
        _judge("6. linear scale", "100 M full / floor <= 10 M's",
               None if rf10 is None or rf100 is None else rf100 / rf10, 1.0,
               "{:.2f} of 10 M's"),
        _judge("6. every model scales with the floor", "100 M / 10 M <= 1.5 x the floor's",
               _worst_model_scale(s10, s100), 1.5, "{:.2f}x (worst model)"),
        _judge("6. peak memory, 100 M", "peak RSS <= 8 GB",
               _get(s100, "full", "peak_rss_mb"), 8192.0, "{:,.0f} MB"),
        Target("7. a big day", "2 M events on a 10 M history <= 10 x its floor", "", None),
    ]


def latest(folder: Path = RESULTS) -> tuple[dict[str, Any], dict[str, str]]:
    """The latest figure of each kind (each size, tiny, cdnow) over the results files,
    and the file each came from."""
    merged: dict[str, Any] = {"sizes": {}}
    sources: dict[str, str] = {}
    for path in sorted(folder.glob("2*.json")):  # timestamped: oldest first
        if "-before-" in path.name:  # the old side of an A/B comparison
            continue
        r = json.loads(path.read_text())
        for label, size in r.get("sizes", {}).items():
            if "full" in size:  # a size's figures from one run: 365 and 180 days compared
                merged["sizes"][label], sources[label] = size, path.name
        for kind in ("tiny", "cdnow"):
            if kind in r:
                merged[kind], sources[kind] = r[kind], path.name
    return merged, sources


def table(targets: list[Target]) -> list[str]:
    rows = ["| target | goal | figure | |", "|---|---|---|---|"]
    rows += [f"| {t.name} | {t.goal} | {t.figure or '-'} | {t.status} |" for t in targets]
    return rows


def readme_section(folder: Path = RESULTS) -> str:
    merged, sources = latest(folder)
    used = ("10M", "100M", "tiny", "cdnow")
    files = ", ".join(f"{k} `{sources[k]}`" for k in used if k in sources)
    return "\n".join([
        BEGIN,
        "The daily-cost targets on this 2-core machine, each judged on the latest harness "
        f"figures of its kind ({files}; `uv run python -m benchmarks.targets --readme` "
        "rewrites this table). Targets 1 and 6 set figures of two of these files side by "
        "side, so they carry both runs' drift (the machine's speed moves 1.5-2x within an "
        "hour). How they came about: [docs/SCALE.md](docs/SCALE.md).",
        "",
        *table(evaluate(merged)),
        END,
    ])


def with_section(readme: str, section: str) -> str:
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + section + readme[end:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--readme", action="store_true", help="rewrite README.md's Scale table")
    a = p.parse_args(argv)
    section = readme_section()
    if a.readme:
        README.write_text(with_section(README.read_text(), section))
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
