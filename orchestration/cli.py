"""The `userops` command line."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from orchestration.config import ConfigError

log = logging.getLogger("userops")

DEMO_LANDING = Path("data/landing/demo")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: ./userops.yaml, or built-in defaults)",
    )
    p.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="DuckDB warehouse file (default: paths.warehouse of the config)",
    )
    p.add_argument("-q", "--quiet", action="store_true",
                   help="only warnings and the summary, no progress")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="every log line (dbt's, Dagster's, Great Expectations') and tracebacks")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(prog="userops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="generate the sample data set and run the whole pipeline over it",
    )
    demo.add_argument("--users", type=int, default=5000)
    demo.add_argument("--days", type=int, default=120)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--landing", type=Path, default=DEMO_LANDING)

    gen = sub.add_parser("generate", parents=[common], help="write a seeded sample landing")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--users", type=int, default=5000)
    gen.add_argument("--days", type=int, default=120)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument(
        "--start", type=_date, default=None, help="first day (default: start_date of the config)"
    )
    gen.add_argument(
        "--outage-day",
        type=int,
        default=None,
        help="day index on which almost nobody can use the product",
    )
    gen.add_argument(
        "--events-format", choices=["native", "ga4", "amplitude"], default="native",
        help="write the events as a tracker's export (then set landing.format.events to it)")

    run = sub.add_parser(
        "run", parents=[common], help="land, validate and build every table over a range of days"
    )
    run.add_argument(
        "--landing",
        type=Path,
        default=None,
        help="landing directory (default: paths.landing of the config)",
    )
    run.add_argument(
        "--start", type=_date, default=None, help="first day (default: first in landing)"
    )
    run.add_argument(
        "--end", type=_date, default=None, help="last day (default: last complete day in landing)"
    )
    run.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental tables from scratch"
    )
    run.add_argument(
        "--accept-definition-change", action="store_true",
        help="a setting that shaped the stored days changed: keep those days as they are "
        "(recorded in marts.fct_definition_changes) instead of a full refresh")

    rep = sub.add_parser(
        "report", parents=[common],
        help="rebuild the daily report from the serving file (no pipeline run)")
    rep.add_argument("--serving", type=Path, default=None,
                     help="serving folder (default: paths.serving, beside the warehouse)")
    rep.add_argument("--open", action="store_true", help="open it in the web browser")

    st = sub.add_parser(
        "status", parents=[common],
        help="where the deployment stands: published days, holes, the last run, the next tick")
    st.add_argument("--json", action="store_true", help="as JSON, for monitoring")

    ex = sub.add_parser(
        "export-actions", parents=[common],
        help="the day's worklist with its holdout, for the tools that send messages")
    ex.add_argument("--out", type=Path, required=True, help="a .csv or .parquet file")
    ex.add_argument("--date", type=_date, default=None,
                    help="the worklist's day (default: the latest published)")
    ex.add_argument("--scheme", default=None,
                    help="one scheme of the playbook: lifecycle, churn_risk, rfm11, ...")
    ex.add_argument("--limit", type=int, default=None, help="the first N of the queue")
    ex.add_argument("--serving", type=Path, default=None,
                    help="serving folder (default: paths.serving, beside the warehouse)")

    cd = sub.add_parser(
        "load-cdnow", parents=[common], help="write the CDNOW transactions as an orders landing"
    )
    cd.add_argument("--out", type=Path, required=True)
    cd.add_argument("--source", type=Path, default=None, help="folder with CDNOW_master.txt")
    cd.add_argument(
        "--sample", action="store_true", help="the papers' 1/10 sample (CDNOW_sample.txt)"
    )
    return parser


THIRD_PARTY = ("dagster", "dbt", "great_expectations", "alembic", "py4j", "pyspark")


def _setup_logging(quiet: bool, verbose: bool = False) -> None:
    """Our own INFO lines unless --quiet; third-party INFO lines only with --verbose (they
    still reach the run's log file, see _run_log)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not quiet:
        logging.getLogger("userops").setLevel(logging.INFO)
    # Dagster prints run progress with its own console logger; keep it from
    # printing every line a second time through the root logger.
    logging.getLogger("dagster").propagate = False
    if not verbose:
        for name in THIRD_PARTY:
            logging.getLogger(name).setLevel(logging.WARNING)
        # printed whenever pyspark is installed (GX imports it), run on Spark or not; the
        # Spark equivalence test passes with this pandas
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")


@contextlib.contextmanager
def _run_log(path: Path, verbose: bool) -> Iterator[None]:
    """Without --verbose, what libraries print to stdout during a run (dbt's result lines)
    and every INFO log line go to `path` instead of the terminal: nothing is lost."""
    if verbose:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        levels = {name: logging.getLogger(name).level for name in ("", *THIRD_PARTY)}
        root.setLevel(logging.INFO)
        for name in THIRD_PARTY:
            logging.getLogger(name).setLevel(logging.INFO)
        # the terminal keeps only warnings of the libraries
        for h in root.handlers:
            if h is not handler:
                h.setLevel(logging.WARNING)
        try:
            with contextlib.redirect_stdout(fh):
                yield
        finally:
            root.removeHandler(handler)
            for name, level in levels.items():
                logging.getLogger(name or None).setLevel(level)
            for h in root.handlers:
                h.setLevel(logging.NOTSET)


def _cmd_generate(args, settings_config) -> Path:
    from sample_data.exports import write_events_as
    from sample_data.generator import GeneratorParams, generate, write_landing

    params = GeneratorParams(
        users=args.users,
        days=args.days,
        seed=args.seed,
        start=getattr(args, "start", None) or settings_config.start_date or dt.date(2025, 1, 1),
        outage_day=getattr(args, "outage_day", None),
    )
    t0 = time.perf_counter()
    log.info(
        "generating %d users x %d days (seed %d) into %s",
        params.users,
        params.days,
        params.seed,
        args.out,
    )
    data = generate(params)
    counts = write_landing(data, args.out, params)
    fmt = getattr(args, "events_format", "native")
    if fmt != "native":
        write_events_as(data.events, Path(args.out) / "events", fmt)
        (Path(args.out) / "events" / "_SUCCESS").touch()  # its files are whole
        log.info("events written as a %s export: set landing.format: {events: %s}", fmt, fmt)
    log.info("generated in %.1f s: %s", time.perf_counter() - t0, counts)
    return args.out


def _cmd_run(args, config, landing: Path | None, start=None, end=None,
             full_refresh=False, accept_definition_change=False) -> int:
    from orchestration.resources import warehouse_for
    from orchestration.runner import HeldBack, dagster_ui_hint, one_run_at_a_time, run_pipeline
    from orchestration.settings import Settings
    from orchestration.summary import format_checks, format_summary, read_summary

    settings = Settings.build(args.config, landing, args.warehouse, config=config)
    run_log = settings.dagster_home / "logs" / "last_run.log"
    t0 = time.perf_counter()
    try:
        # the lock first: a run refused beside another must not truncate that one's log
        with one_run_at_a_time(settings), _run_log(run_log, args.verbose):
            outcome = run_pipeline(
                settings, start, end, full_refresh,
                log_level="INFO" if args.verbose else "WARNING",
                progress=None if args.quiet else sys.stderr, tracebacks=args.verbose,
                accept_definition_change=accept_definition_change,
            )
    except HeldBack as held:  # one short block: why, what BI still reads, where to look
        lines = held.lines()
        lines[0] = f"userops: {lines[0]}"
        sys.stderr.write("\n".join([*lines, f"  full log:   {run_log}", "  exit code:  2"])
                         + "\n")
        return 2
    elapsed = time.perf_counter() - t0
    log.info("pipeline finished %s .. %s in %.1f s", outcome.start, outcome.end, elapsed)
    summary = read_summary(warehouse_for(settings))
    text = format_summary(
        summary, settings.warehouse, dagster_ui_hint(settings, args.config), settings.serving
    )
    lines = [text, format_checks(outcome)]
    if not args.verbose:
        lines.append(f"full log:         {run_log}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _cmd_report(args, config) -> int:
    from orchestration.report.build import rebuild_report
    from orchestration.settings import Settings

    settings = Settings.build(args.config, None, args.warehouse, config=config)
    serving = (args.serving or settings.serving).absolute()
    path = rebuild_report(serving, config.report.language, config.timezone)
    sys.stdout.write(f"{path}\n")
    if args.open:
        import webbrowser

        webbrowser.open(path.as_uri())
    return 0


def _cmd_export_actions(args, config) -> int:
    import duckdb

    from orchestration.actions_export import worklist, write_export
    from orchestration.serving import SERVING_FILE
    from orchestration.settings import Settings

    settings = Settings.build(args.config, None, args.warehouse, config=config)
    path = (args.serving or settings.serving).absolute() / SERVING_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the pipeline first")
    con = duckdb.connect(str(path), read_only=True)  # the published worklist, not the live one
    try:
        rows = worklist(lambda sql, params=None: con.execute(sql, params or []).df(),
                        args.date, args.scheme, args.limit)
    finally:
        con.close()
    out = write_export(rows, args.out)
    held = int((rows["assignment"] == "holdout").sum())
    sys.stdout.write(f"wrote {len(rows):,} actions ({held:,} holdout: not to be contacted) "
                     f"to {out}\n")
    return 0


def _cmd_status(args, config) -> int:
    from orchestration.settings import Settings
    from orchestration.status import format_status, read_status, status_json

    status = read_status(Settings.build(args.config, None, args.warehouse, config=config))
    sys.stdout.write((status_json(status) if args.json else format_status(status)) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.quiet, args.verbose)
    from orchestration.config import load_config

    try:
        config = load_config(args.config)
        if args.command == "generate":
            _cmd_generate(args, config)
            return 0
        if args.command == "load-cdnow":
            from sample_data.cdnow import DEFAULT_CDNOW_DIR, write_cdnow_landing

            n = write_cdnow_landing(args.out, args.source or DEFAULT_CDNOW_DIR, args.sample)
            sys.stdout.write(
                f"wrote {n:,} CDNOW orders to {args.out}/orders\n"
                f"next: userops run --landing {args.out} --config examples/cdnow.yaml\n"
            )
            return 0
        if args.command == "report":
            return _cmd_report(args, config)
        if args.command == "status":
            return _cmd_status(args, config)
        if args.command == "export-actions":
            return _cmd_export_actions(args, config)
        if args.command == "demo":
            if not (args.landing / "events").is_dir():
                args.out = args.landing
                _cmd_generate(args, config)
            else:
                log.info("using the existing demo landing in %s", args.landing)
            return _cmd_run(args, config, args.landing)
        if args.command == "run":
            return _cmd_run(args, config, args.landing, args.start, args.end, args.full_refresh,
                            args.accept_definition_change)
    except Exception as exc:  # every error is one line that says what to do next
        if args.verbose:
            log.exception("failed")
        sys.stderr.write(f"userops: error: {_one_line_error(exc)}\n")
        return 2
    return 1


def _one_line_error(exc: Exception) -> str:
    from data_quality.landing.read import LandingError
    from orchestration.runner import RunError, one_line
    from orchestration.serving import PublishError

    text = one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, ConfigError | FileNotFoundError | ValueError | RunError | LandingError
                  | PublishError):
        return text  # these say what is wrong and what to do
    return f"{type(exc).__name__}: {text} (run again with --verbose for the traceback)"


if __name__ == "__main__":
    raise SystemExit(main())
