"""What a run produced, read back from the warehouse for the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestration.serving import REPORT_FILE, SERVING_FILE
from orchestration.warehouse import Warehouse

DUPLICATE = "duplicate_key"


@dataclass
class RunSummary:
    rows_staged: dict[str, int]
    rows_quarantined: dict[str, int]
    reasons: dict[str, int]  # quarantine reasons; duplicates are among them
    last_day: tuple | None  # (activity_date, dau, wau, mau, stickiness)
    tables: list[str]
    fallbacks: list[str] = field(default_factory=list)  # one line per model that fell back
    files_deferred: int = 0  # landing files left for the next run (still being written)
    files_unreadable: int = 0  # landing files no reader could parse (landing.unreadable_files)


# Run tables that record fallbacks: (table, columns, how a row reads in the summary,
# which rows; the challengers' backtest rows are model comparisons, not fallbacks)
FALLBACK_SOURCES = (
    ("value_model_runs", "model, status, method, reason", "{0} {1}, scores use {2}: {3}",
     "true"),
    ("churn_model_runs", "method, status, scored_with, message",
     "churn {0} {1}, scored with {2}: {3}", "method <> 'backtest'"),
)


def _fallbacks(warehouse: Warehouse, marts: dict[str, str | None]) -> list[str]:
    """Models of the latest snapshot whose published scores come from a fallback."""
    lines = []
    for table, columns, line, which in FALLBACK_SOURCES:
        if table not in marts:
            continue
        rows = warehouse.query(
            f"""select {columns} from marts.{table}
                where snapshot_date = (select max(snapshot_date) from marts.{table})
                  and status <> 'ok' and {which} order by 1""")
        lines += [line.format(*row) for row in rows.itertuples(index=False)]
    return lines


def read_summary(warehouse: Warehouse) -> RunSummary:
    """Landed and quarantined rows from the landing's DuckDB file (on either engine), the
    last day and the tables from the warehouse."""
    with warehouse.store.connect(read_only=True) as con:
        staged = {
            t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("users", "events", "orders")
        }
        quarantined = dict(con.execute(
            "select entity, count(*) from raw.quarantine group by 1 order by 1").fetchall())
        reasons = dict(con.execute(
            "select reason, count(*) from raw.quarantine group by 1 order by 1").fetchall())
        deferred, unreadable = con.execute(
            "select (select count(*) from landing.deferred_files), "
            "(select count(*) from landing.unreadable_files)").fetchone()
    last = warehouse.row(
        """select activity_date, dau, wau, mau, stickiness from marts.fct_active_users_daily
           where breakdown = 'all' order by activity_date desc limit 1""")
    marts = warehouse.relations("marts")
    tables = [f"{schema}.{name}" for schema in ("intermediate", "marts")
              for name in (marts if schema == "marts" else warehouse.relations(schema))]
    return RunSummary(staged, quarantined, reasons, last, tables,
                      _fallbacks(warehouse, marts), deferred, unreadable)


def format_summary(
    s: RunSummary, warehouse: Path, ui_hint: str, serving: Path | None = None
) -> str:
    lines = ["", "userops: run finished", ""]
    lines.append("rows landed:      " + ", ".join(f"{k} {v:,}" for k, v in s.rows_staged.items()))
    bad = {k: v for k, v in s.reasons.items() if k != DUPLICATE}
    detail = ", ".join(f"{k} {v:,}" for k, v in bad.items()) or "none"
    lines.append(f"rows quarantined: {sum(bad.values()):,} ({detail}); see raw.quarantine")
    lines.append(f"duplicates:       {s.reasons.get(DUPLICATE, 0):,} re-delivered rows dropped "
                 "(raw.quarantine, reason duplicate_key)")
    if s.files_deferred or s.files_unreadable:
        lines.append(f"landing files:    {s.files_deferred} deferred to the next run (still "
                     f"being written), {s.files_unreadable} unreadable and skipped "
                     "(landing.deferred_files, landing.unreadable_files)")
    if s.last_day:
        d, dau, wau, mau, stick = s.last_day
        stick_s = "n/a" if stick is None else f"{stick:.3f}"
        lines.append(f"last day {d}: DAU {dau:,}  WAU {wau:,}  MAU {mau:,}  stickiness {stick_s}")
    for line in s.fallbacks:
        lines.append(f"model fallback:   {line}")
    lines.append(f"warehouse:        {warehouse}  (live: not for BI)")
    if serving is not None:
        lines.append(f"for BI tools:     {serving / SERVING_FILE}  (read-only; docs/BI.md)")
    marts = [t for t in s.tables if t.startswith("marts.")]
    lines.append(f"tables:           {len(marts)} marts, {len(s.tables) - len(marts)} "
                 "intermediate (docs/TABLES.md)")
    if serving is not None and (serving / REPORT_FILE).exists():
        lines.append(f"report:           {serving / REPORT_FILE}  (userops report --open)")
    lines.append(f"Dagster UI:       {ui_hint}")
    return "\n".join(lines)


def format_checks(outcome) -> str:
    """One line for the checks, then one line per failed check."""
    failed = outcome.failed_checks
    lines = [f"checks:           {len(outcome.checks) - len(failed)} passed, {len(failed)} failed"]
    for c in failed:
        if "message" in c.metadata:  # a business alert says it in one line
            detail = str(c.metadata["message"])
        else:
            detail = ", ".join(f"{k}={v}" for k, v in c.metadata.items())
        lines.append(f"  {c.severity}: {c.asset} {c.check} ({detail})")
    return "\n".join(lines)
