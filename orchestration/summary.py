"""What a run produced, read back from the warehouse for the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass
class RunSummary:
    rows_staged: dict[str, int]
    rows_quarantined: dict[str, int]
    reasons: dict[str, int]
    last_day: tuple | None  # (activity_date, dau, wau, mau, stickiness)
    tables: list[str]


def read_summary(warehouse: Path) -> RunSummary:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        staged = {
            t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
            for t in ("users", "events", "orders")
        }
        quarantined = dict(
            con.execute(
                "select entity, count(*) from raw.quarantine group by 1 order by 1"
            ).fetchall()
        )
        reasons = dict(
            con.execute(
                "select reason, count(*) from raw.quarantine group by 1 order by 1"
            ).fetchall()
        )
        last = con.execute(
            """select activity_date, dau, wau, mau, stickiness from marts.fct_active_users_daily
               where breakdown = 'all' order by activity_date desc limit 1"""
        ).fetchone()
        tables = [
            f"{s}.{t}"
            for s, t in con.execute(
                """select table_schema, table_name from information_schema.tables
                   where table_schema in ('marts', 'intermediate', 'raw') order by 1, 2"""
            ).fetchall()
        ]
    finally:
        con.close()
    return RunSummary(staged, quarantined, reasons, last, tables)


def format_summary(
    s: RunSummary, warehouse: Path, ui_hint: str, serving: Path | None = None
) -> str:
    lines = ["", "userops: run finished", ""]
    lines.append("rows landed:      " + ", ".join(f"{k} {v:,}" for k, v in s.rows_staged.items()))
    q = sum(s.rows_quarantined.values())
    detail = ", ".join(f"{k} {v:,}" for k, v in s.reasons.items()) or "none"
    lines.append(f"rows quarantined: {q:,} ({detail}); see raw.quarantine")
    if s.last_day:
        d, dau, wau, mau, stick = s.last_day
        stick_s = "n/a" if stick is None else f"{stick:.3f}"
        lines.append(f"last day {d}: DAU {dau:,}  WAU {wau:,}  MAU {mau:,}  stickiness {stick_s}")
    lines.append(f"warehouse:        {warehouse}  (live: not for BI)")
    if serving is not None:
        lines.append(f"for BI tools:     {serving / 'serving.duckdb'}  (read-only; README)")
    lines.append("tables:           " + ", ".join(t for t in s.tables if not t.startswith("raw.")))
    lines.append(f"Dagster UI:       {ui_hint}")
    return "\n".join(lines)


def format_checks(outcome) -> str:
    """One line for the checks, then one line per failed check."""
    failed = outcome.failed_checks
    lines = [f"checks:           {len(outcome.checks) - len(failed)} passed, {len(failed)} failed"]
    for c in failed:
        detail = ", ".join(f"{k}={v}" for k, v in c.metadata.items())
        lines.append(f"  {c.severity}: {c.asset} {c.check} ({detail})")
    return "\n".join(lines)
