"""The daily report: one self-contained HTML page of charts from the published marts.

Built from the `marts` tables only, through a `read(sql) -> DataFrame` function, so the
same code renders it from the warehouse during a run (the report asset) and from the
serving file afterwards (`userops report`). Plotly's JavaScript is inlined once from the
plotly package: the page opens offline, with no request leaving it. Each section is a
chart with one line on how to read it, its key numbers in elements marked
`data-metric` (the tests read them back), or a sentence saying why it is empty.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from orchestration.report.labels import text
from orchestration.serving import REPORT_FILE, SERVING_FILE

log = logging.getLogger(__name__)

Read = Callable[[str], pd.DataFrame]
CHECKS_FILE = "checks.json"
TIERS = ("high", "mid", "low")
STAGES = ("new", "growing", "mature", "declining", "reactivated", "churned")
FUNNEL_DAYS = 7  # the funnels section's entry days
PATH_STARTS, PATH_NEXT = 4, 6  # the paths section: events it starts from, next events kept
BANDS = {"low": "#4c9f70", "medium": "#e0a030", "high": "#d0453a", "churned": "#888888"}


@dataclass
class Section:
    key: str
    title: str
    how: str
    charts: list[str] = field(default_factory=list)  # figure HTML (no script library)
    tables: list[str] = field(default_factory=list)
    metrics: dict[str, object] = field(default_factory=dict)
    empty: str | None = None


def _figure_html(fig, key: str, n: int) -> str:
    fig.update_layout(margin={"l": 50, "r": 50, "t": 30, "b": 40}, height=360,
                      template="plotly_white", legend={"orientation": "h", "y": -0.15})
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{key}-{n}",
                       config={"displaylogo": False, "responsive": True})


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "n/a"
    if isinstance(value, dt.date | pd.Timestamp):  # days, shown as days
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(frame: pd.DataFrame, headers: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Report:
    def __init__(self, read: Read, tables: set[str], language: str) -> None:
        self.read, self.tables, self.lang = read, tables, language

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    def section(self, key: str) -> Section:
        return Section(key, self.t(key), self.t(f"{key}_how"))

    def frame(self, table: str, sql: str) -> pd.DataFrame:
        """`sql` over marts.`table`, or no rows when the table was not built."""
        if table not in self.tables:
            return pd.DataFrame()
        return self.read(sql)

    def mark_definition_changes(self, fig) -> None:
        """A dashed line on each day a history-shaping setting changed while the days
        before it were kept (orchestration/definition.py): the series mean something
        else from there on."""
        changes = self.frame("fct_definition_changes", """
            select changed_on, string_agg(setting, ', ' order by setting) as settings
            from marts.fct_definition_changes where how = 'history kept'
            group by changed_on order by changed_on""")
        for row in changes.itertuples(index=False):
            fig.add_vline(x=pd.Timestamp(row.changed_on).timestamp() * 1000, line_dash="dash",
                          line_color="#b02a2a",
                          annotation_text=self.t("definition_changed", settings=row.settings))

    # --- sections -------------------------------------------------------------------
    def checks(self, checks: list[dict] | None) -> Section:
        s = self.section("checks")
        if checks is None:
            s.empty = self.t("checks_none")
            return s
        # what stopped the publish (ERROR) before what only warns
        failed = sorted((c for c in checks if not c["passed"]),
                        key=lambda c: c["severity"] != "ERROR")
        s.metrics["checks_failed"] = len(failed)
        if not failed:
            s.empty = self.t("checks_ok", n=len(checks))
            return s
        rows = pd.DataFrame([(c["severity"], c["asset"], c["check"],
                              ", ".join(f"{k}={v}" for k, v in c.get("metadata", {}).items()))
                             for c in failed])
        s.tables.append(_table(rows, [self.t(k) for k in ("severity", "table", "check",
                                                           "detail")]))
        return s

    def active(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("active")
        df = self.frame("fct_active_users_daily", """
            select activity_date, dau, wau, mau, stickiness from marts.fct_active_users_daily
            where breakdown = 'all' order by activity_date""")
        if df.empty:
            s.empty = self.t("no_activity")
            return s
        fig = go.Figure()
        for col in ("dau", "wau", "mau"):
            fig.add_scatter(x=df["activity_date"], y=df[col], name=col.upper(), mode="lines")
        fig.add_scatter(x=df["activity_date"], y=df["stickiness"], name=self.t("stickiness"),
                        yaxis="y2", mode="lines", line={"dash": "dot"})
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 1]})
        self.mark_definition_changes(fig)
        s.charts.append(_figure_html(fig, "active", 0))
        last = df.iloc[-1]
        s.metrics.update(date=last["activity_date"], dau=int(last["dau"]), wau=int(last["wau"]),
                         mau=int(last["mau"]), stickiness=float(last["stickiness"] or 0))
        return s

    def tiers(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("tiers")
        df = self.frame("fct_user_engagement_daily", """
            select activity_date, activity_tier, count(*) as users
            from marts.fct_user_engagement_daily where activity_tier <> 'none'
            group by all order by activity_date""")
        if df.empty:
            s.empty = self.t("no_activity")
            return s
        wide = df.pivot(index="activity_date", columns="activity_tier", values="users").fillna(0)
        fig = go.Figure()
        for tier in TIERS:
            if tier in wide:
                fig.add_scatter(x=wide.index, y=wide[tier], name=tier, stackgroup="tiers",
                                mode="lines")
        s.charts.append(_figure_html(fig, "tiers", 0))
        last = wide.iloc[-1]
        s.metrics.update({f"tier_{t}": int(last.get(t, 0)) for t in TIERS})
        return s

    def sources(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("sources")
        df = self.frame("fct_active_user_sources", """
            select activity_date, new_active_users, kept_active_users, woken_silent_users,
                   returned_churned_users, silent_users
            from marts.fct_active_user_sources order by activity_date""")
        if df.empty:
            s.empty = self.t("no_activity")
            return s
        fig = go.Figure()
        for col, key in (("kept_active_users", "kept"), ("new_active_users", "new"),
                         ("woken_silent_users", "woken"),
                         ("returned_churned_users", "returned")):
            fig.add_bar(x=df["activity_date"], y=df[col], name=self.t(key))
        fig.add_scatter(x=df["activity_date"], y=df["silent_users"], name=self.t("silent"),
                        yaxis="y2", mode="lines")
        fig.update_layout(barmode="stack", yaxis2={"overlaying": "y", "side": "right"})
        s.charts.append(_figure_html(fig, "sources", 0))
        last = df.iloc[-1]
        s.metrics.update(woken=int(last["woken_silent_users"]),
                         returned=int(last["returned_churned_users"]),
                         silent=int(last["silent_users"]))
        moves = self.frame("fct_tier_movements", """
            select activity_date, direction, sum(users) as users
            from marts.fct_tier_movements where direction <> 'same' group by all
            order by activity_date""")
        if not moves.empty:
            wide = moves.pivot(index="activity_date", columns="direction",
                               values="users").fillna(0)
            fig = go.Figure()
            fig.add_bar(x=wide.index, y=wide.get("up", 0 * wide.iloc[:, 0]),
                        name=self.t("tier_up"))
            fig.add_bar(x=wide.index, y=-wide.get("down", 0 * wide.iloc[:, 0]),
                        name=self.t("tier_down"))
            fig.update_layout(barmode="relative")
            s.charts.append(_figure_html(fig, "sources", 1))
        return s

    def growth(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("growth")
        df = self.frame("fct_growth_accounting", """
            select period_start, new_users, retained_users, resurrected_users, churned_users,
                   quick_ratio from marts.fct_growth_accounting
            where grain = 'week' and is_complete order by period_start""")
        if df.empty:
            s.empty = self.t("no_growth")
            return s
        fig = go.Figure()
        for col, key in (("retained_users", "retained"), ("new_users", "new"),
                         ("resurrected_users", "resurrected")):
            fig.add_bar(x=df["period_start"], y=df[col], name=self.t(key))
        fig.add_bar(x=df["period_start"], y=-df["churned_users"], name=self.t("churned"))
        fig.add_scatter(x=df["period_start"], y=df["quick_ratio"], name=self.t("quick_ratio"),
                        yaxis="y2", mode="lines+markers")
        fig.update_layout(barmode="relative", yaxis2={"overlaying": "y", "side": "right"})
        s.charts.append(_figure_html(fig, "growth", 0))
        last = df.iloc[-1]
        s.metrics.update(week=last["period_start"], quick_ratio=last["quick_ratio"],
                         new_users=int(last["new_users"]),
                         churned_users=int(last["churned_users"]))
        stage = self.frame("fct_product_stage", """
            select month_start, product_stage from marts.fct_product_stage
            where is_complete order by month_start desc limit 1""")
        if not stage.empty:
            s.metrics["product_stage"] = stage.iloc[0]["product_stage"]
        return s

    def retention(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("retention")
        df = self.frame("fct_retention_cohorts", """
            select cohort_grain, cohort_period, period_number, cohort_size,
                   retention_rate_on, retention_rate_on_or_after
            from marts.fct_retention_cohorts
            where breakdown = 'all' and is_observable
              and (cohort_grain <> 'day' or period_number <= 30)""")
        if df.empty:
            s.empty = self.t("no_cohorts")
            return s
        fig = go.Figure()
        variants = []
        for grain in ("day", "week", "month"):
            g = df[df["cohort_grain"] == grain]
            if grain == "day":  # the latest 60 daily cohorts: a readable triangle
                g = g[g["cohort_period"].isin(sorted(g["cohort_period"].unique())[-60:])]
            for measure in ("on", "on_or_after"):
                wide = g.pivot(index="cohort_period", columns="period_number",
                               values=f"retention_rate_{measure}")
                fig.add_heatmap(z=wide.values, x=list(wide.columns),
                                y=[_fmt(pd.Timestamp(d)) for d in wide.index], zmin=0, zmax=1,
                                colorscale="Blues", visible=not variants,
                                name=f"{self.t(grain)} / {self.t(measure)}")
                variants.append(f"{self.t(grain)} · {self.t(measure)}")
        buttons = [{"label": label, "method": "update",
                    "args": [{"visible": [j == i for j in range(len(variants))]}]}
                   for i, label in enumerate(variants)]
        fig.update_layout(updatemenus=[{"buttons": buttons, "direction": "down", "x": 0,
                                        "y": 1.15, "xanchor": "left"}],
                          yaxis={"autorange": "reversed", "type": "category"})
        s.charts.append(_figure_html(fig, "retention", 0))
        week = df[(df["cohort_grain"] == "week") & (df["period_number"] == 1)]
        if not week.empty:
            s.metrics["week1_retention"] = float(week.sort_values("cohort_period")
                                                 .iloc[-1]["retention_rate_on"])
        return s

    def lifecycle(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("lifecycle")
        df = self.frame("fct_lifecycle_stage_counts", """
            select activity_date, lifecycle_stage, users from marts.fct_lifecycle_stage_counts
            where breakdown = 'all' order by activity_date""")
        if df.empty:
            s.empty = self.t("no_activity")
            return s
        wide = df.pivot(index="activity_date", columns="lifecycle_stage",
                        values="users").fillna(0)
        fig = go.Figure()
        for stage in STAGES:
            if stage in wide:
                fig.add_scatter(x=wide.index, y=wide[stage], name=stage, stackgroup="s",
                                mode="lines")
        s.charts.append(_figure_html(fig, "lifecycle", 0))
        s.metrics.update({f"stage_{k}": int(v) for k, v in wide.iloc[-1].items()})
        flows = self.frame("fct_lifecycle_transitions", """
            select from_stage, to_stage, sum(users) as users
            from marts.fct_lifecycle_transitions
            where is_change and from_stage is not null and activity_date >
                  (select max(activity_date) from marts.fct_lifecycle_transitions) - 7
            group by all""")
        if flows.empty:
            s.tables.append(f"<p class='empty'>{html.escape(self.t('no_transitions'))}</p>")
        else:
            names = [*STAGES, *sorted(set(flows["from_stage"]) | set(flows["to_stage"])
                                      - set(STAGES))]
            index = {n: i for i, n in enumerate(names)}
            fig = go.Figure(go.Sankey(
                node={"label": [f"{n} →" for n in names] + [f"→ {n}" for n in names]},
                link={"source": [index[f] for f in flows["from_stage"]],
                      "target": [len(names) + index[t] for t in flows["to_stage"]],
                      "value": flows["users"].tolist()}))
            s.charts.append(_figure_html(fig, "lifecycle", 1))
        return s

    def channels(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("channels")
        df = self.frame("fct_channel_quality", """
            select channel, new_users, d7_retention, d30_retention, cac, payback_days,
                   stability from marts.fct_channel_quality
            where cohort_month is null order by new_users desc""")
        if df.empty:
            s.empty = self.t("no_channels")
            return s
        labels = [f"{c} ({st})" for c, st in zip(df["channel"], df["stability"], strict=True)]
        hover = [f"new users {n:,}<br>CAC {_fmt(c)}<br>payback {_fmt(p)} days"
                 for n, c, p in zip(df["new_users"], df["cac"], df["payback_days"], strict=True)]
        fig = go.Figure()
        for col in ("d7_retention", "d30_retention"):
            fig.add_bar(x=labels, y=df[col], name=col.replace("_", " "), hovertext=hover)
        fig.update_layout(barmode="group", yaxis={"range": [0, 1]})
        s.charts.append(_figure_html(fig, "channels", 0))
        top = df.iloc[0]
        s.metrics.update(top_channel=top["channel"], top_channel_d30=top["d30_retention"])
        return s

    def funnel(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("funnel")
        # the latest complete signup month, else the latest one (marked as incomplete)
        df = self.frame("fct_aarrr_funnel", """
            select cohort_month, step_number, step, users, is_complete
            from marts.fct_aarrr_funnel
            where cohort_month = coalesce(
                (select max(cohort_month) from marts.fct_aarrr_funnel where is_complete),
                (select max(cohort_month) from marts.fct_aarrr_funnel))
            order by step_number""")
        if df.empty:
            s.empty = self.t("no_funnel")
            return s
        fig = go.Figure(go.Funnel(y=df["step"], x=df["users"], textinfo="value+percent initial"))
        s.charts.append(_figure_html(fig, "funnel", 0))
        s.metrics.update(funnel_month=df.iloc[0]["cohort_month"],
                         funnel_acquired=int(df.iloc[0]["users"]))
        if not df["is_complete"].all():
            s.how += " " + self.t("funnel_incomplete")
        return s

    def funnels(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("funnels")
        s.how = self.t("funnels_how", days=FUNNEL_DAYS)
        # each funnel's latest FUNNEL_DAYS entry days whose every window has closed
        df = self.frame("fct_funnel_daily", f"""
            with closed as (
                select funnel, max(activity_date) as last_day from marts.fct_funnel_daily
                where is_complete group by funnel)
            select f.funnel, f.breakdown, f.breakdown_value, f.step_number, f.step,
                   cast(sum(f.users) as bigint) as users, min(f.activity_date) as first_day,
                   max(f.activity_date) as last_day
            from marts.fct_funnel_daily as f inner join closed as c on c.funnel = f.funnel
            where f.activity_date > c.last_day - {FUNNEL_DAYS} and f.activity_date <= c.last_day
            group by all order by f.funnel, f.breakdown, f.breakdown_value, f.step_number""")
        if df.empty:
            s.empty = self.t("no_funnels")
            return s
        overall = df[df["breakdown"] == "all"]
        for n, (name, steps) in enumerate(overall.groupby("funnel", sort=True)):
            fig = go.Figure(go.Funnel(y=steps["step"], x=steps["users"],
                                      textinfo="value+percent previous"))
            fig.update_layout(title={"text": f"{name} ({_fmt(steps['first_day'].min())} .. "
                                             f"{_fmt(steps['last_day'].max())})"})
            s.charts.append(_figure_html(fig, "funnels", n))
            s.metrics[f"funnel_{name}_entered"] = int(steps["users"].iloc[0])
            s.metrics[f"funnel_{name}_converted"] = int(steps["users"].iloc[-1])
        ends = df.groupby(["funnel", "breakdown", "breakdown_value"], sort=True).agg(
            entered=("users", "first"), converted=("users", "last")).reset_index()
        ends["conversion"] = [f"{c / e:.1%}" if e else "n/a"
                              for e, c in zip(ends["entered"], ends["converted"], strict=True)]
        s.tables.append(_table(ends, ["funnel", self.t("breakdown"), self.t("value"),
                                      self.t("entered"), self.t("converted"),
                                      self.t("conversion")]))
        return s

    def paths(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("paths")
        week = self.frame("fct_event_transitions",
                          "select max(week_start) as week from marts.fct_event_transitions")
        if week.empty or pd.isna(week["week"].iloc[0]):
            s.empty = self.t("no_paths")
            return s
        week_start = pd.Timestamp(week["week"].iloc[0]).date()
        df = self.read(f"""
            select from_event, to_event, cast(sum(transitions) as bigint) as transitions
            from marts.fct_event_transitions where week_start = date '{week_start}'
            group by all""")
        steps = self.frame("fct_funnel_daily", """
            select funnel, step_number, step from marts.fct_funnel_daily
            where funnel = (select min(funnel) from marts.fct_funnel_daily)
            group by all order by step_number""")
        if steps.empty:  # no funnel: after the most frequent events
            top = df.groupby("from_event")["transitions"].sum().nlargest(PATH_STARTS)
            starts = list(top.index)
            s.how = self.t("paths_how_top", week=_fmt(week_start))
        else:
            starts = list(dict.fromkeys(steps["step"]))
            s.how = self.t("paths_how", week=_fmt(week_start), funnel=steps["funnel"].iloc[0])
        rows = []
        for start in starts:
            after = df[df["from_event"] == start].sort_values(
                ["transitions", "to_event"], ascending=[False, True])
            kept = after.head(PATH_NEXT)
            rows += [(start, r.to_event, int(r.transitions)) for r in kept.itertuples()]
            if len(after) > PATH_NEXT:
                rows.append((start, self.t("other"), int(after["transitions"][PATH_NEXT:].sum())))
            total = int(after["transitions"].sum())
            ended = int(after.loc[after["to_event"] == "(visit ended)", "transitions"].sum())
            s.metrics[f"after_{start}_ended_share"] = round(ended / total, 3) if total else None
        if not rows:
            s.empty = self.t("no_paths")
            return s
        left = list(dict.fromkeys(r[0] for r in rows))
        right = list(dict.fromkeys(r[1] for r in rows))
        fig = go.Figure(go.Sankey(
            node={"label": [f"{n} →" for n in left] + [f"→ {n}" for n in right]},
            link={"source": [left.index(r[0]) for r in rows],
                  "target": [len(left) + right.index(r[1]) for r in rows],
                  "value": [r[2] for r in rows]}))
        s.charts.append(_figure_html(fig, "paths", 0))
        s.metrics["paths_week"] = week_start
        return s

    def segments(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("segments")
        df = self.frame("fct_segment_summary", """
            select segment, users, share_of_users, active_28d_rate, paying_rate,
                   revenue_per_user, high_risk_share
            from marts.fct_segment_summary order by segment = 'all' desc, users desc""")
        if len(df) < 2:  # only 'all': no segment configured
            s.empty = self.t("no_segments")
            return s
        fig = go.Figure()
        for column in ("active_28d_rate", "paying_rate", "high_risk_share"):
            fig.add_bar(x=df["segment"], y=df[column], name=self.t(column))
        fig.update_layout(barmode="group", yaxis={"range": [0, 1]})
        s.charts.append(_figure_html(fig, "segments", 0))
        s.metrics.update({f"segment_{r.segment}_users": int(r.users)
                          for r in df.itertuples(index=False)})
        trend = self.frame("fct_segment_active_users_daily", """
            select segment, activity_date, wau_rate from marts.fct_segment_active_users_daily
            order by segment, activity_date""")
        if len(trend):
            # the members' own history: judged today, read backwards (docs/METRICS.md)
            fig = go.Figure()
            for name, rows in trend.groupby("segment", sort=True):
                fig.add_scatter(x=rows["activity_date"], y=rows["wau_rate"], name=name,
                                mode="lines")
            fig.update_layout(yaxis={"range": [0, 1], "title": self.t("wau_rate")})
            s.charts.append(_figure_html(fig, "segments", 1))
            last = trend[trend["activity_date"] == trend["activity_date"].max()]
            s.metrics.update({f"segment_{r.segment}_wau_rate": round(float(r.wau_rate), 3)
                              for r in last.itertuples(index=False)})
        return s

    def revenue(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("revenue")
        df = self.frame("fct_revenue_daily", """
            select activity_date, gmv_net, arpu, paid_orders from marts.fct_revenue_daily
            order by activity_date""")
        if df.empty or df["paid_orders"].sum() == 0:
            s.empty = self.t("no_orders")
            return s
        fig = go.Figure()
        fig.add_bar(x=df["activity_date"], y=df["gmv_net"], name=self.t("gmv_net"))
        fig.add_scatter(x=df["activity_date"], y=df["arpu"], name=self.t("arpu"), yaxis="y2",
                        mode="lines")
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right"})
        s.charts.append(_figure_html(fig, "revenue", 0))
        s.metrics.update(gmv_net_total=float(df["gmv_net"].sum()),
                         paid_orders_total=int(df["paid_orders"].sum()))
        repeat = self.frame("fct_repeat_purchase", """
            select cohort_month, buyers, repeat_rate_short, repeat_rate_long
            from marts.fct_repeat_purchase order by cohort_month""")
        if not repeat.empty:
            fig = go.Figure()
            for col, key in (("repeat_rate_short", "repeat_short"),
                             ("repeat_rate_long", "repeat_long")):
                fig.add_bar(x=repeat["cohort_month"], y=repeat[col], name=self.t(key))
            fig.update_layout(barmode="group", yaxis={"range": [0, 1]})
            s.charts.append(_figure_html(fig, "revenue", 1))
        return s

    def rfm(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("rfm")
        segment = "rfm11_segment_zh" if self.lang == "zh" else "rfm11_segment"
        df = self.frame("user_rfm", f"""
            select {segment} as segment, count(*) as users, sum(monetary) as revenue
            from marts.user_rfm group by all order by users desc""")
        if df.empty:
            s.empty = self.t("no_rfm")
            return s
        fig = go.Figure()
        fig.add_bar(x=df["segment"], y=df["users"], name=self.t("users"))
        fig.add_scatter(x=df["segment"], y=df["revenue"], name=self.t("revenue_col"),
                        yaxis="y2", mode="markers+lines")
        fig.update_layout(yaxis2={"overlaying": "y", "side": "right"})
        s.charts.append(_figure_html(fig, "rfm", 0))
        s.metrics.update(rfm_users=int(df["users"].sum()), rfm_top_segment=df.iloc[0]["segment"])
        return s

    def churn(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("churn")
        df = self.frame("user_churn_scores", """
            select churn_probability, risk_band from marts.user_churn_scores
            where churn_probability is not null""")
        if df.empty:
            why = self.frame("churn_model_runs", """
                select message from marts.churn_model_runs
                order by snapshot_date desc limit 1""")
            reason = why.iloc[0]["message"] if not why.empty else "churn_model_runs is empty"
            s.empty = self.t("no_churn", why=reason)
            return s
        fig = go.Figure()
        for band, colour in BANDS.items():
            part = df[df["risk_band"] == band]
            if not part.empty:
                fig.add_histogram(x=part["churn_probability"], name=band, marker_color=colour,
                                  xbins={"start": 0, "end": 1, "size": 0.05})
        fig.update_layout(barmode="stack", xaxis={"range": [0, 1]})
        s.charts.append(_figure_html(fig, "churn", 0))
        counts = df["risk_band"].value_counts()
        s.metrics.update({f"risk_{b}": int(counts.get(b, 0)) for b in BANDS})
        top = self.frame("user_winback", """
            select winback_rank, user_id, risk_band, churn_probability, value, rfm11_segment
            from marts.user_winback order by winback_rank limit 10""")
        if not top.empty:
            s.tables.append(_table(top, [self.t(k) for k in ("rank", "user", "risk_band",
                                                              "probability", "value",
                                                              "segment")]))
        return s


    def loop(self) -> Section:
        import plotly.graph_objects as go

        s = self.section("loop")
        df = self.frame("fct_action_outcomes", """
            select action_key, outcome_days, treated_users, holdout_users, holdout_share,
                return_uplift, return_uplift_low, return_uplift_high, conversion_uplift,
                conversion_uplift_low, conversion_uplift_high, verdict
            from marts.fct_action_outcomes
            where cohort_week is null and channel = 'all'
              and outcome_days = (select min(outcome_days) from marts.fct_action_outcomes)
            order by action_key""")
        if df.empty:
            s.empty = self.t("no_loop")
            return s
        points = df["return_uplift"] * 100
        fig = go.Figure()
        fig.add_scatter(
            x=points, y=df["action_key"], mode="markers", name=self.t("return_uplift"),
            error_x={"type": "data", "symmetric": False,
                     "array": df["return_uplift_high"] * 100 - points,
                     "arrayminus": points - df["return_uplift_low"] * 100})
        fig.add_vline(x=0, line_dash="dot")
        s.charts.append(_figure_html(fig, "loop", 0))
        s.metrics["actions_measured"] = len(df)
        s.metrics["working"] = int((df["verdict"] == "works").sum())
        rows = pd.DataFrame({
            "action": df["action_key"], "treated": df["treated_users"],
            "holdout": df["holdout_users"],
            "return": [f"{u:+.1f}" for u in points],
            "interval": [f"{lo * 100:+.1f} .. {hi * 100:+.1f}" for lo, hi in
                         zip(df["return_uplift_low"], df["return_uplift_high"], strict=True)],
            "conversion": [f"{u * 100:+.1f}" for u in df["conversion_uplift"]],
            "verdict": df["verdict"]})
        s.tables.append(_table(rows, [self.t(k) for k in (
            "action_key", "treated", "holdout", "return_uplift", "interval",
            "conversion_uplift", "verdict")]))
        return s


def build_html(read: Read, tables: set[str], checks: list[dict] | None, language: str,
               timezone: str, now: dt.datetime | None = None,
               held_back: str | None = None) -> str:
    """The whole page. `tables`: the names in schema marts; `checks`: this run's check
    results (asset, check, passed, severity, metadata), or None when not known.
    `held_back`: the run published nothing; when the serving file's run was published
    (None: never), for a banner above everything."""
    import plotly.offline

    r = Report(read, tables, language)
    sections = [r.checks(checks)]
    for build in (r.active, r.sources, r.tiers, r.growth, r.retention, r.lifecycle, r.channels,
                  r.funnel, r.funnels, r.paths, r.segments, r.revenue, r.rfm, r.churn, r.loop):
        try:
            sections.append(build())
        except Exception as exc:  # one broken section must not lose the others
            log.exception("report section %s failed", build.__name__)
            failed = r.section(build.__name__)
            failed.empty = f"{type(exc).__name__}: {exc}"
            sections.append(failed)
    as_of = next((s.metrics.get("date") for s in sections if s.metrics.get("date")), None)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(timezone))
    body = "\n".join(_section_html(s, r) for s in sections)
    title = r.t("title")
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if language == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script>{plotly.offline.get_plotlyjs()}</script>
</head><body>
<header><h1>{html.escape(title)}</h1>
<p>{html.escape(r.t('as_of'))} <b data-metric="as_of">{html.escape(_fmt(as_of))}</b>
 · {html.escape(r.t('generated'))} {now:%Y-%m-%d %H:%M} ({html.escape(timezone)})</p>
<nav>{' · '.join(f'<a href="#s-{s.key}">{html.escape(s.title)}</a>' for s in sections)}</nav>
</header>
{_held_back_html(r, held_back)}
{body}
</body></html>
"""


def _held_back_html(r: Report, published: str | None) -> str:
    if published is None:
        return ""
    serving = (r.t("held_back_nothing") if published == "" else
               r.t("held_back_serving", when=published))
    return (f'<section id="s-held-back" data-section="held_back" class="held"><p>'
            f'{html.escape(r.t("held_back", serving=serving))}</p></section>')


def _section_html(s: Section, r: Report) -> str:
    metrics = " ".join(
        f'<span class="metric">{html.escape(k)} <b data-metric="{html.escape(k)}">'
        f"{html.escape(_fmt(v))}</b></span>" for k, v in s.metrics.items())
    empty = "" if s.empty is None else f'<p class="empty">{html.escape(s.empty)}</p>'
    charts = "".join(f'<div class="chart">{c}</div>' for c in s.charts)
    return (f'<section id="s-{s.key}" data-section="{s.key}" '
            f'data-charts="{len(s.charts)}"><h2>{html.escape(s.title)}</h2>'
            f'<p class="how">{html.escape(s.how)}</p>{empty}'
            f'<div class="metrics">{metrics}</div>{charts}{"".join(s.tables)}</section>')


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;
margin:0 auto;max-width:1100px;padding:0 16px 40px;color:#222}
header{border-bottom:1px solid #ddd;margin-bottom:8px}
h1{font-size:24px;margin:18px 0 4px}h2{font-size:19px;margin:26px 0 4px}
nav{font-size:13px;margin:6px 0 10px}nav a{color:#2a5db0;text-decoration:none}
.how{color:#555;font-size:14px;margin:2px 0 8px}.empty{color:#a05a00;font-style:italic}
.metrics{font-size:13px;color:#333;margin-bottom:4px}.metric{margin-right:14px}
table{border-collapse:collapse;font-size:13px;margin-top:8px}
th,td{border-bottom:1px solid #eee;padding:3px 10px;text-align:left}
#s-checks table td:first-child{font-weight:bold;color:#b02a2a}
.held{background:#fdecea;border:1px solid #b02a2a;padding:4px 12px;font-weight:bold}
"""


# --- from the serving file -----------------------------------------------------------

def latest_run_dir(serving: Path) -> Path:
    """The run folder of the publish serving.duckdb holds (publish_info: relative to the
    serving folder; absolute in files published before it was)."""
    path = serving / SERVING_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the pipeline first "
                                "(userops run or userops demo)")
    con = duckdb.connect(str(path), read_only=True)
    try:
        return serving / con.execute("select run_dir from publish_info").fetchone()[0]
    finally:
        con.close()


def write_report(page: str, run_dir: Path, serving: Path) -> Path:
    """The page into the run folder and, swapped in whole, as serving/report.html."""
    (run_dir / REPORT_FILE).write_text(page, encoding="utf-8")
    return write_page(page, serving)


def write_page(page: str, serving: Path) -> Path:
    """The page as serving/report.html, swapped in whole."""
    partial = serving / f".{REPORT_FILE}.partial"
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, serving / REPORT_FILE)
    return serving / REPORT_FILE


def rebuild_report(serving: Path, language: str, timezone: str) -> Path:
    """`userops report`: the page again, from the serving file and the run's checks."""
    run_dir = latest_run_dir(serving)
    checks_file = run_dir / CHECKS_FILE
    checks = json.loads(checks_file.read_text()) if checks_file.exists() else None
    con = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        tables = {n for (n,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()}
        page = build_html(lambda sql: con.execute(sql).df(), tables, checks, language,
                          timezone)
    finally:
        con.close()
    return write_report(page, run_dir, serving)
