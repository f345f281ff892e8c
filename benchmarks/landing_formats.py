"""uv run python -m benchmarks.landing_formats [--events 10M] [--repeat 3] [--landing PATH]

The landing's cost per event for a tracker's export against the native contract: the
same events, written as native Parquet (the generator's) and as GA4's BigQuery export in
Parquet (nested event_params and collected_traffic_source, epoch microseconds, no event
ids: the heaviest mapping), landed by `sync_landing` into a fresh DuckDB file, native and
GA4 alternated `--repeat` times. Reports each side's median seconds, ns per event and the
ratio (the target: GA4 within 1.5x of native). Results: benchmarks/results/landing_formats.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.harness import START, machine, parse_size
from data_quality.landing import ValidationRules, sync_landing
from data_quality.landing.presets import preset
from sample_data.generator import GeneratorParams, stream_landing, users_for_events

RESULTS = Path(__file__).parent / "results" / "landing_formats.json"
log = logging.getLogger("benchmarks.landing_formats")

GA4_SQL = """
copy (
    select strftime(event_time, '%Y%m%d') as event_date,
        epoch_us(event_time) as event_timestamp,
        event_name,
        [{'key': 'ga_session_id', 'value': {'string_value': session_id,
            'int_value': null::bigint, 'float_value': null::double,
            'double_value': null::double}},
         {'key': 'properties', 'value': {'string_value': cast(properties as varchar),
            'int_value': null::bigint, 'float_value': null::double,
            'double_value': null::double}}] as event_params,
        user_id,
        'd-' || user_id as user_pseudo_id,
        upper(platform) as platform,
        case when campaign_id is not null
            then {'manual_campaign_name': campaign_id} end as collected_traffic_source
    from read_parquet(?)
) to '{out}' (format parquet)
"""


def write_ga4(native_events: Path, out: Path) -> int:
    """Each native day file as a GA4 export file of the same events."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for f in sorted(native_events.glob("*.parquet")):
        target = str(out / f.name).replace("'", "''")
        con.execute(GA4_SQL.replace("{out}", target), [str(f)])
    (out / "_SUCCESS").touch()
    return con.execute("select count(*) from read_parquet(?)",
                       [str(out / "*.parquet")]).fetchone()[0]


def land_seconds(landing: Path, fmt: str, scratch: Path) -> float:
    warehouse = scratch / f"{fmt}.duckdb"
    warehouse.unlink(missing_ok=True)
    con = duckdb.connect(str(warehouse))
    rules = ValidationRules(now=dt.datetime.now(dt.UTC))
    mappings = {"events": preset(fmt)} if fmt != "native" else {}
    t0 = time.perf_counter()
    report = sync_landing(con, landing, rules, "bench", mappings=mappings)
    seconds = time.perf_counter() - t0
    staged = report.rows_staged["events"]
    con.close()
    warehouse.unlink(missing_ok=True)
    log.info("%s: %.1f s for %d events staged", fmt, seconds, staged)
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", default="10M")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--landing", type=Path, help="a generated landing to reuse (its events/)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = args.landing
        if source is None:
            source = root / "generated"
            events = parse_size(args.events)
            stream_landing(GeneratorParams(users=users_for_events(events, args.days),
                                           days=args.days, seed=42, start=START), source)
        native, ga4 = root / "native", root / "ga4"
        (native / "events").mkdir(parents=True)
        for f in (source / "events").glob("*.parquet"):
            (native / "events" / f.name).symlink_to(f)
        (native / "events" / "_SUCCESS").touch()
        events = write_ga4(source / "events", ga4 / "events")
        times: dict[str, list[float]] = {"native": [], "ga4": []}
        for _ in range(args.repeat):
            for fmt, landing in (("native", native), ("ga4", ga4)):
                times[fmt].append(land_seconds(landing, fmt, root))
        shutil.rmtree(ga4, ignore_errors=True)
    median = {fmt: statistics.median(t) for fmt, t in times.items()}
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(), "events": events, "repeat": args.repeat,
        "seconds": times, "median_s": median,
        "ns_per_event": {fmt: round(s / events * 1e9) for fmt, s in median.items()},
        "ga4_to_native": round(median["ga4"] / median["native"], 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{events:,} events: native {median['native']:.1f} s "
          f"({result['ns_per_event']['native']} ns/event), GA4 export {median['ga4']:.1f} s "
          f"({result['ns_per_event']['ga4']} ns/event): {result['ga4_to_native']}x")


if __name__ == "__main__":
    main()
