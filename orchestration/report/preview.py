"""A small preview and a text chart of a key mart, for its Dagster materialization: the
Dagster UI shows them as Markdown next to the asset."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

BLOCKS = "▁▂▃▄▅▆▇█"

# mart -> (the series as SQL: a label column and a value column, newest last; its name)
SERIES = {
    "fct_active_users_daily": ("""select activity_date as label, dau as value
        from marts.fct_active_users_daily where breakdown = 'all'
        order by activity_date desc limit 60""", "DAU"),
    "fct_growth_accounting": ("""select period_start as label, quick_ratio as value
        from marts.fct_growth_accounting where grain = 'week' and is_complete
        order by period_start desc limit 26""", "weekly quick ratio"),
    "fct_revenue_daily": ("""select activity_date as label, gmv_net as value
        from marts.fct_revenue_daily order by activity_date desc limit 60""", "net GMV"),
    "fct_retention_cohorts": ("""select period_number as label,
            avg(retention_rate_on) as value
        from marts.fct_retention_cohorts
        where cohort_grain = 'week' and breakdown = 'all' and is_observable
        group by all order by label desc limit 26""", "mean weekly retention by week number"),
}


def sparkline(values: list[float]) -> str:
    """Values as a line of block characters, lowest to highest; gaps for missing values."""
    present = [v for v in values if v is not None and not pd.isna(v)]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    return "".join(" " if v is None or pd.isna(v)
                   else BLOCKS[int((v - low) / span * (len(BLOCKS) - 1))] for v in values)


def _label(value: object) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def _number(value: float | None) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.4g}"


def mart_preview(read: Callable[[str], pd.DataFrame], table: str) -> dict[str, str]:
    """Markdown for `table`: its newest rows and a sparkline of its main series ({} when
    the table has no preview here)."""
    if table not in SERIES:
        return {}
    sql, name = SERIES[table]
    series = read(sql).iloc[::-1]
    if series.empty:
        return {"chart": f"{name}: no rows yet"}
    values = [None if pd.isna(v) else float(v) for v in series["value"]]
    last = values[-1]
    chart = (f"**{name}**, {_label(series['label'].iloc[0])} … "
             f"{_label(series['label'].iloc[-1])}\n\n"
             f"`{sparkline(values)}`  latest **{_number(last) or 'n/a'}**")
    rows = series.tail(10).iloc[::-1]
    table_md = "| label | value |\n|---|---|\n" + "\n".join(
        f"| {_label(label)} | {_number(v)} |"
        for label, v in zip(rows["label"], rows["value"], strict=True))
    return {"chart": chart, "preview": table_md}
