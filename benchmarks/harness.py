"""Measure the pipeline at a size: generate, run, and compare with a bare DuckDB floor.

Each figure comes from a fresh process (`python -m orchestration.cli run`), timed from
process start to exit, with its peak RSS from the kernel (wait4). Speeds are reported as
ratios to the floor measured in the same harness run, because this machine is shared.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from sample_data.generator import GeneratorParams, stream_landing, users_for_events

log = logging.getLogger("benchmarks")
PROJECT = Path(__file__).resolve().parent.parent
START = dt.date(2025, 1, 1)

FLOOR_SQL = """
select user_id, cast(event_time as date) as day, count(*) as events,
       count(distinct session_id) as sessions, min(event_time) as first_time,
       max(event_time) as last_time
from read_parquet(?) group by all
"""


@dataclass
class Measured:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    output_tail: str = ""
    # the whole process tree's peak (sampled): includes Spark's JVM, which wait4 misses
    peak_tree_rss_mb: float = 0.0


@dataclass
class SizeResult:
    label: str
    events_target: int
    days: int
    figures: dict[str, Any] = field(default_factory=dict)


def parse_size(text: str) -> int:
    """1M, 10M, 500k, 1000000."""
    t = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def machine() -> dict[str, Any]:
    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    return {"cores": os.cpu_count(), "memory_mb": mem, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "host": platform.node()}


def _tree_rss_mb(root: int) -> float:
    """The summed RSS of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(p, 0) for p in tree) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _sample_tree(pid: int, peak: list[float], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        peak[0] = max(peak[0], _tree_rss_mb(pid))


def run_process(args: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run to exit; wall time, the child's own peak RSS (wait4, not the harness's) and the
    peak of its process tree sampled each second (Spark runs in a JVM child)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, cwd=PROJECT, text=True)
    peak, stop = [0.0], threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(proc.pid, peak, stop), daemon=True)
    sampler.start()
    out_lines = []
    assert proc.stdout is not None
    for line in proc.stdout:  # drained as it comes, so a chatty run never blocks on a pipe
        out_lines.append(line)
        del out_lines[:-40]
    stop.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(time.perf_counter() - t0, usage.ru_maxrss / 1024, proc.returncode,
                    "".join(out_lines), max(peak[0], usage.ru_maxrss / 1024))


def userops(config: Path, *extra: str) -> Measured:
    m = run_process([sys.executable, "-m", "orchestration.cli", "run", "--config", str(config),
                     "-q", *extra])
    if m.returncode != 0:
        raise RuntimeError(f"userops run {' '.join(extra)} failed:\n{m.output_tail}")
    return m


# What an analyst configures on top of the defaults (docs/METRICS.md): a funnel of the
# generator's key events broken down by platform, channel and the users' region, region
# as a breakdown of the activity tables, and a segment. Every size run carries it unless
# --plain, so the figures include the daily cost of these tables.
ANALYST: dict[str, Any] = {
    "funnels": {"discovery": {"steps": ["search", "view_item", "add_to_cart"],
                              "within_hours": 2,
                              "breakdowns": ["platform", "channel", "attribute.region"]}},
    "breakdowns": {"attributes": ["region"]},
    "segments": {"ios_searchers": {"platform": ["ios"], "min_events": {"search": 2},
                                   "days": 7}},
}


def write_config(folder: Path, landing: Path, start: dt.date, **extra: Any) -> Path:
    cfg = {
        "start_date": start.isoformat(),
        "paths": {"landing": str(landing), "warehouse": str(folder / "warehouse.duckdb"),
                  "dagster_home": str(folder / "dagster_home"),
                  "serving": str(folder / "serving")},
        "schedule": {"enabled": False},
        # the harness writes (or links) every landing file whole before it runs
        "landing": {"settle_seconds": 0},
        **extra,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "userops.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def floor_seconds(events_glob: str, repeat: int = 2) -> tuple[float, int]:
    """The bare aggregation of events to user-days, best of `repeat` (warm file cache, as
    the full run that follows it sees)."""
    best, rows = float("inf"), 0
    for _ in range(repeat):
        con = duckdb.connect()
        t0 = time.perf_counter()
        rows = con.execute(f"select count(*) from ({FLOOR_SQL})", [events_glob]).fetchone()[0]
        best = min(best, time.perf_counter() - t0)
        con.close()
    return best, rows


def startup_floor_seconds(repeat: int = 2) -> float:
    """The floor of a run that does no work: a process that starts, imports the pipeline
    (Dagster, dagster-dbt, dbt, the definitions' modules) and exits; best of `repeat`.
    Timed beside the tiny and CDNOW runs, whose cost is mostly such Python work, so their
    ratio to it survives the machine's drift (2x within an hour here) where seconds do not."""
    times = []
    for _ in range(repeat):
        m = run_process([sys.executable, "-c", "import orchestration.runner"])
        if m.returncode != 0:
            raise RuntimeError(f"importing the pipeline failed:\n{m.output_tail}")
        times.append(m.wall_s)
    return min(times)


def link_days(source: Path, target: Path, days: range) -> int:
    """Hard-link the files of these day numbers (one file per entity and day) into a
    landing; returns the events in them."""
    events = 0
    for entity_dir in source.iterdir():
        if entity_dir.name.startswith("_"):
            continue
        (target / entity_dir.name).mkdir(parents=True, exist_ok=True)
        for d in days:
            stamp = (START + dt.timedelta(days=d)).strftime("%Y%m%d")
            for f in entity_dir.glob(f"*_{stamp}.*"):
                dest = target / entity_dir.name / f.name
                if not dest.exists():
                    os.link(f, dest)
                if entity_dir.name == "events":
                    events += duckdb.execute("select count(*) from read_parquet(?)",
                                             [str(f)]).fetchone()[0]
    return events


def stage_times(dagster_home: Path) -> dict[str, Any]:
    """Per step (Dagster's step stats) and per dbt model (node_results.json of each dbt
    invocation; run_results.json in runs before it) of the latest run in this instance."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_runs(limit=1)[0]
        steps = {s.step_key: round(s.end_time - s.start_time, 2)
                 for s in instance.get_run_step_stats(run.run_id)
                 if s.end_time and s.start_time}
        stats = instance.get_run_stats(run.run_id)
        run_s = round((stats.end_time or 0) - (stats.start_time or 0), 2)
    models: dict[str, float] = {}
    tests: dict[str, float] = {}
    targets = dagster_home / "dbt_runs" / run.run_id
    for target in sorted(targets.iterdir()) if targets.exists() else []:
        for r in _node_results(target):
            # model.<project>.<name>; test.<project>.<name>[.<hash>]
            kind, name = r["unique_id"].split(".")[0], r["unique_id"].split(".")[2]
            if kind == "model":
                models[name] = round(r["execution_time"], 2)
            elif kind == "test":
                tests[name] = round(r["execution_time"], 2)
    top = dict(sorted(models.items(), key=lambda kv: -kv[1]))
    return {"run_s": run_s, "steps": steps, "dbt_models": top,
            "dbt_models_total_s": round(sum(models.values()), 2),
            "dbt_tests_total_s": round(sum(tests.values()), 2), "dbt_tests_count": len(tests),
            "dbt_tests_slowest": dict(sorted(tests.items(), key=lambda kv: -kv[1])[:10])}


def _node_results(target: Path) -> list[dict[str, Any]]:
    if (target / "node_results.json").exists():
        return json.loads((target / "node_results.json").read_text())
    if (target / "run_results.json").exists():
        return json.loads((target / "run_results.json").read_text())["results"]
    return []


def largest_tables(warehouse: Path, n: int = 8) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where schema_name not in ('_userops') order by estimated_size desc limit ?",
            [n]).fetchall()
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in names}
    finally:
        con.close()


def du_mb(path: Path) -> float:
    if path.is_file():
        return round(path.stat().st_size / 2**20, 1)
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def bench_size(events: int, days: int, out: Path, seed: int, histories: list[int],
               incremental: bool = True, engines: tuple[str, ...] = ("duckdb",),
               analyst: bool = True) -> SizeResult:
    label = f"{events / 1e6:g}M" if events >= 1_000_000 else f"{events / 1e3:g}k"
    res = SizeResult(label, events, days)
    root = out / label
    shutil.rmtree(root, ignore_errors=True)
    gen = root / "generated"
    t0 = time.perf_counter()
    users = users_for_events(events, days + 1, seed)
    counts = stream_landing(GeneratorParams(users=users, days=days + 1, seed=seed, start=START),
                            gen)
    res.figures["generate"] = {"users": users, "days_generated": days + 1, **counts,
                               "seconds": round(time.perf_counter() - t0, 1)}
    log.info("%s: generated %s in %.0f s", label, counts, time.perf_counter() - t0)

    for h in sorted(set(histories) | {days}):
        floor = None
        for engine in engines:
            key = ("full" if h == days else f"full_{h}d") + ("" if engine == "duckdb"
                                                              else f"_{engine}")
            run_root = root / f"run_{h}d" if engine == "duckdb" else root / f"run_{h}d_{engine}"
            landing = run_root / "landing"
            landed = link_days(gen, landing, range(h))
            if floor is None:  # one floor per landing, shared by the engines
                floor, user_days = floor_seconds(str(landing / "events" / "*.parquet"))
            res.figures[key] = bench_run(label, key, run_root, landing, h, landed, floor,
                                         user_days, engine, gen if incremental else None,
                                         ANALYST if analyst else {})
    return res


def bench_run(label: str, key: str, run_root: Path, landing: Path, h: int, landed: int,
              floor: float, user_days: int, engine: str, gen: Path | None,
              configured: dict[str, Any]) -> dict[str, Any]:
    """The full run over the first h days on one engine, then (with gen) the next day's."""
    extra = dict(configured) if engine == "duckdb" else {**configured,
                                                          "warehouse": {"engine": engine}}
    cfg = write_config(run_root, landing, START, **extra)
    full = userops(cfg, "--start", START.isoformat(),
                   "--end", (START + dt.timedelta(days=h - 1)).isoformat())
    warehouse = run_root / ("warehouse.duckdb" if engine == "duckdb" else "warehouse.spark")
    fig: dict[str, Any] = {
        "engine": engine, "history_days": h, "events": landed, "user_days": user_days,
        "analyst_config": bool(configured),
        "floor_s": round(floor, 3), "wall_s": round(full.wall_s, 1),
        "peak_rss_mb": round(full.peak_rss_mb), "peak_tree_rss_mb": round(full.peak_tree_rss_mb),
        "ratio_to_floor": round(full.wall_s / floor, 1),
        "stages": stage_times(run_root / "dagster_home"),
        "warehouse_mb": du_mb(warehouse),
        "serving_mb": du_mb(run_root / "serving"), "landing_mb": du_mb(landing),
        # the serving file holds the published tables on either engine
        "largest_tables": (largest_tables(run_root / "warehouse.duckdb") if engine == "duckdb"
                           else {}),
    }
    log.info("%s %s: %.1f s, %.0f MB (tree %.0f MB), %.0fx floor (%.2f s)", label, key,
             full.wall_s, full.peak_rss_mb, full.peak_tree_rss_mb, full.wall_s / floor, floor)
    if gen is not None:
        day = START + dt.timedelta(days=h)
        new_events = link_days(gen, landing, range(h, h + 1))
        inc = userops(cfg, "--start", day.isoformat(), "--end", day.isoformat())
        fig["next_day"] = {
            "day": day.isoformat(), "events": new_events, "wall_s": round(inc.wall_s, 1),
            "peak_rss_mb": round(inc.peak_rss_mb),
            "peak_tree_rss_mb": round(inc.peak_tree_rss_mb),
            "ratio_to_full": round(inc.wall_s / full.wall_s, 3),
            "stages": stage_times(run_root / "dagster_home"),
        }
        log.info("%s next day after %d days: %.1f s (%.3f of the full run)", label, h,
                 inc.wall_s, inc.wall_s / full.wall_s)
    return fig


def bench_tiny(out: Path) -> dict[str, Any]:
    """The fixed cost: a one-day run on a tiny landing, process start to exit."""
    root = out / "tiny"
    shutil.rmtree(root, ignore_errors=True)
    gen = root / "generated"
    stream_landing(GeneratorParams(users=50, days=1, seed=1, start=START), gen)
    cfg = write_config(root, gen, START)
    floor = startup_floor_seconds()
    first = userops(cfg, "--start", START.isoformat(), "--end", START.isoformat())
    again = userops(cfg, "--start", START.isoformat(), "--end", START.isoformat())
    return {"first_run_s": round(first.wall_s, 1), "rerun_s": round(again.wall_s, 1),
            "peak_rss_mb": round(again.peak_rss_mb), "startup_floor_s": round(floor, 2),
            "rerun_to_startup_floor": round(again.wall_s / floor, 1),
            "stages": stage_times(root / "dagster_home")}


def bench_cdnow(out: Path) -> dict[str, Any]:
    """The 546-day backfill of the real CDNOW transactions (orders only)."""
    from sample_data.cdnow import DEFAULT_CDNOW_DIR, write_cdnow_landing

    root = out / "cdnow"
    shutil.rmtree(root, ignore_errors=True)
    orders = write_cdnow_landing(root / "landing", DEFAULT_CDNOW_DIR, sample=False)
    example = yaml.safe_load((PROJECT / "examples" / "cdnow.yaml").read_text())
    example.pop("paths", None)
    cfg = write_config(root, root / "landing", dt.date.fromisoformat(
        str(example.pop("start_date", "1997-01-01"))), **example)
    floor = startup_floor_seconds()
    m = userops(cfg)
    return {"orders": orders, "wall_s": round(m.wall_s, 1), "peak_rss_mb": round(m.peak_rss_mb),
            "startup_floor_s": round(floor, 2),
            "ratio_to_startup_floor": round(m.wall_s / floor, 1),
            "stages": stage_times(root / "dagster_home")}


def write_results(results: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    sizes = "-".join(results.get("sizes", {})) or "fixed"
    path = folder / f"{stamp}-{sizes}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    return path


def summary_lines(results: dict[str, Any]) -> list[str]:
    lines = [f"machine: {results['machine']['cores']} cores, "
             f"{results['machine']['memory_mb'] / 1024:.0f} GB"]
    for label, r in results.get("sizes", {}).items():
        for key, f in r.items():
            if not key.startswith("full"):
                continue
            lines.append(
                f"{label} events, {f['history_days']} days ({f['events']:,} events): full run "
                f"{f['wall_s']} s, peak {f['peak_rss_mb']} MB, floor {f['floor_s']} s -> "
                f"{f['ratio_to_floor']}x floor; dbt SQL {f['stages']['dbt_models_total_s']} s"
                + (f" [{f['engine']}, process tree peak {f['peak_tree_rss_mb']} MB]"
                   if f.get("engine", "duckdb") != "duckdb" else ""))
            if "next_day" in f:
                n = f["next_day"]
                lines.append(f"  next day ({n['events']:,} events): {n['wall_s']} s = "
                             f"{n['ratio_to_full']} of the full run")
    if "tiny" in results:
        t = results["tiny"]
        lines.append(f"tiny landing, one day: {t['first_run_s']} s first run, "
                     f"{t['rerun_s']} s rerun (process start to exit)"
                     + _startup_ratio(t, "rerun_to_startup_floor"))
    if "cdnow" in results:
        c = results["cdnow"]
        lines.append(f"CDNOW 546-day backfill ({c['orders']:,} orders): {c['wall_s']} s, "
                     f"peak {c['peak_rss_mb']} MB" + _startup_ratio(c, "ratio_to_startup_floor"))
    return lines


def _startup_ratio(figures: dict[str, Any], key: str) -> str:
    if "startup_floor_s" not in figures:  # results written before the startup floor
        return ""
    return (f"; {figures[key]}x the startup floor ({figures['startup_floor_s']} s: start, "
            "import the pipeline, exit)")
