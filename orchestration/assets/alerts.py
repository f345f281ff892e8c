"""Business alerts: marts.fct_alerts (one row per firing, kept across runs),
marts.fct_alert_episodes (an alert that stays true is one episode: start, last seen,
resolved) and one asset check per alert, WARN unless the config lists it under
alerts.blocking (then a firing stops the publish). Plus the engagement trend's check on
its latest day.

The rules are pure functions in models/alerts.py; here they get their numbers from the
warehouse. A webhook (URL from the environment variable alerts.webhook_env) receives one
JSON POST when an episode starts and one when it resolves, not one a day; a failed post
is logged and retried on the next run.
"""

import datetime as dt
import os

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    ResourceParam,
    asset_check,
    multi_asset,
)

from models import alerts as rules
from models.funnel_alert import funnel_drop_alerts
from orchestration.assets.loop import OUTCOMES_KEY, OUTCOMES_TABLE
from orchestration.assets.value import RUNS_KEY
from orchestration.dbt.helpers import RUN_WINDOW_TABLE
from orchestration.model_settings import alert_thresholds, funnel_drop_settings, funnel_lags
from orchestration.notify import post_alert
from orchestration.resources import WAREHOUSE_POOL, python_kinds
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

TREND_KEY = AssetKey(["marts", "fct_engagement_trend"])
ALERTS_KEY = AssetKey(["marts", "fct_alerts"])
ALERTS_TABLE = "marts.fct_alerts"
EPISODES_KEY = AssetKey(["marts", "fct_alert_episodes"])
EPISODES_TABLE = "marts.fct_alert_episodes"
KEY_COLUMNS = ["alert_date", "alert", "subject"]
COLUMNS = {
    "alert_date": "datetime64[s]", "alert": "str", "subject": "str", "severity": "str",
    "value": "float64", "threshold": "float64", "message": "str", "run_id": "str",
    "recorded_at": "datetime64[us, UTC]",
}
EPISODE_KEY = ["alert", "subject", "started"]
# start_notify: pending | sent | failed | too_old; resolve_notify: open (not resolved)
# | pending | sent | failed | too_old
NOTIFY_COLUMNS = {"start_notify": "str", "resolve_notify": "str", "notify_attempts": "int64",
                  "notified_at": "datetime64[us, UTC]", "notify_error": "str"}
EPISODE_TYPES = {
    "alert": "str", "subject": "str", "severity": "str", "started": "datetime64[s]",
    "last_seen": "datetime64[s]", "resolved_on": "datetime64[s]", "state": "str",
    "days_firing": "int64", "value": "float64", "threshold": "float64",
    "first_message": "str", "last_message": "str", **NOTIFY_COLUMNS,
}
GROWTH_ALERTS = ("decline_rule", "quick_ratio_low", "net_growth_negative")


def _date(value) -> dt.date:
    return pd.Timestamp(value).date()


def evaluate(warehouse: Warehouse, settings: Settings) -> tuple[list[rules.Firing],
                                                               dict[str, dt.date | None],
                                                               tuple[dt.date, dt.date]]:
    """Every rule over the days this run built: firings, the day each alert is judged on
    (its check's day) and the evaluated range."""
    t = alert_thresholds(settings.config)
    grain = settings.config.alerts.period
    window = warehouse.row(f"select min(window_start), max(built_through) from {RUN_WINDOW_TABLE}")
    first, last = _date(window[0]), _date(window[1])
    growth = warehouse.query(
        "select * from marts.fct_growth_accounting where grain = ? order by period_start",
        [grain])
    flow = warehouse.query(
        "select * from marts.fct_user_base_flow where grain = ? order by period_start",
        [grain])
    signups = warehouse.query(
        "select channel, signup_date, count(*) as new_users from intermediate.int_user_cohorts "
        "where signup_date is not null and signup_date <= ? group by channel, signup_date",
        [last])
    runs = warehouse.query(
        "select snapshot_date, high_risk_share from marts.churn_model_runs "
        "where snapshot_date <= ? order by snapshot_date", [last])
    history_from = first - dt.timedelta(days=t.trend_window_days)
    daily = warehouse.query(
        "select activity_date, dau, bounced_only_users from marts.fct_active_users_daily "
        "where breakdown = 'all' and activity_date between ? and ? order by activity_date",
        [history_from, last])
    days = warehouse.query(
        "select activity_date, sum(engaged_visits) as engaged_visits, "
        "sum(engaged_visits_without_campaign) as engaged_visits_without_campaign "
        "from intermediate.int_user_days where activity_date between ? and ? "
        "group by activity_date order by activity_date", [first, last])
    outcomes = warehouse.query(
        f"select * from {OUTCOMES_TABLE} where cohort_week is null and channel = 'all' "
        "and outcome_days = ?", [settings.config.loop.outcome_days[0]]) \
        if warehouse.exists(OUTCOMES_TABLE) else pd.DataFrame(columns=["verdict"])
    drop, lags = funnel_drop_settings(settings.config), funnel_lags(settings.config)
    funnel_from = first - dt.timedelta(
        days=max(lags.values(), default=1) + drop.recent_days + drop.baseline_days)
    funnel_days = warehouse.query(
        "select funnel, activity_date, breakdown, breakdown_value, step_number, step, users "
        "from marts.fct_funnel_daily where activity_date between ? and ?",
        [funnel_from, last])
    firings = [
        *funnel_drop_alerts(funnel_days, lags, first, last, drop),
        *rules.decline_alerts(flow, grain, first, last, t),
        *rules.growth_alerts(growth, grain, first, last, t),
        *rules.action_alerts(outcomes, last),
        *rules.channel_alerts(signups, last, t),
        *rules.risk_share_alert(runs[runs["snapshot_date"].notna()], t),
        *rules.bounced_only_alerts(daily, first, last, t),
        *rules.campaign_alerts(days, first, last, t),
    ]
    firings = [f for f in firings if first <= f.alert_date <= last]
    complete = growth[growth["is_complete"].astype(bool)]
    period_end = (rules.period_end(_date(complete["period_start"].max()), grain)
                  if not complete.empty else None)
    judged: dict[str, dt.date | None] = {name: last for name in rules.ALERTS}
    for name in GROWTH_ALERTS:
        judged[name] = period_end
    return firings, judged, (first, last)


def merge(existing: pd.DataFrame | None, firings: list[rules.Firing], span: tuple[dt.date, dt.date],
          blocking: set[str], run_id: str, now: pd.Timestamp) -> pd.DataFrame:
    """The new fct_alerts: rows outside the evaluated days kept, those inside replaced by
    this run's firings; a firing recorded before keeps when and by which run."""
    new = pd.DataFrame([{
        "alert_date": pd.Timestamp(f.alert_date), "alert": f.alert, "subject": f.subject,
        "severity": "block" if f.alert in blocking else "warn", "value": f.value,
        "threshold": f.threshold, "message": f.message, "run_id": run_id, "recorded_at": now,
    } for f in firings], columns=list(COLUMNS))
    if existing is not None and not existing.empty:
        existing = typed(existing)  # Spark reads timestamps back without their zone
        inside = existing["alert_date"].between(pd.Timestamp(span[0]), pd.Timestamp(span[1]))
        before = existing[inside].set_index(KEY_COLUMNS)
        if not new.empty and not before.empty:
            keyed = new.set_index(KEY_COLUMNS)
            seen = keyed.index.isin(before.index)
            for column in ("recorded_at", "run_id"):
                keyed.loc[seen, column] = before.loc[keyed.index[seen], column].to_numpy()
            new = keyed.reset_index()
        kept = existing[~inside]
        new = pd.concat([kept, new], ignore_index=True) if len(new) else kept
    return typed(new).sort_values(KEY_COLUMNS).reset_index(drop=True)


def track(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """fct_alert_episodes: the episodes of the firing log now (rules.episodes), each
    keeping the notification state it had (by alert, subject and start), so a rerun never
    posts twice; a new episode's start is pending, its resolution pending once resolved."""
    out = current.assign(
        state=["open" if pd.isna(r) else "resolved" for r in current["resolved_on"]],
        start_notify="pending", notify_attempts=0, notified_at=pd.NaT, notify_error=None)
    out["resolve_notify"] = ["open" if s == "open" else "pending" for s in out["state"]]
    out = typed(out, EPISODE_TYPES)
    if previous is not None and not previous.empty and not out.empty:
        before = typed(previous, EPISODE_TYPES).set_index(EPISODE_KEY)
        keyed = out.set_index(EPISODE_KEY)
        seen = keyed.index.isin(before.index)
        old = before.loc[keyed.index[seen]]
        for column in ("start_notify", "notify_attempts", "notified_at", "notify_error"):
            keyed.loc[seen, column] = old[column].to_numpy()
        # a resolution already handled stays so; one that reopened is open again
        handled = old["resolve_notify"].isin(["sent", "failed", "too_old"]).to_numpy()
        resolved = (keyed.loc[seen, "state"] == "resolved").to_numpy()
        keyed.loc[seen, "resolve_notify"] = [
            o if h and r else n for o, h, r, n in zip(
                old["resolve_notify"], handled, resolved, keyed.loc[seen, "resolve_notify"],
                strict=True)]
        out = typed(keyed.reset_index(), EPISODE_TYPES)
    return out.sort_values(EPISODE_KEY).reset_index(drop=True)


def typed(frame: pd.DataFrame, types: dict[str, str] = COLUMNS) -> pd.DataFrame:
    out = frame.reindex(columns=list(types)).copy()
    for column, dtype in types.items():
        if dtype.startswith("datetime64") and "UTC" in dtype:
            out[column] = pd.to_datetime(out[column], utc=True)
        elif dtype.startswith("datetime64"):
            out[column] = pd.to_datetime(out[column])
        elif dtype == "str":
            out[column] = out[column].astype(object).where(out[column].notna(), None)
        elif dtype == "int64":
            out[column] = pd.to_numeric(out[column]).fillna(0).astype("int64")
        else:
            out[column] = pd.to_numeric(out[column]).astype(dtype)
    return out


def notify(episodes: pd.DataFrame, url: str | None, today: dt.date, max_age_days: int,
           log, now: pd.Timestamp) -> dict[str, int]:
    """Post each episode's start and its resolution once (in place): pending or failed
    ones are posted; a start not seen within max_age_days (a backfill's) and a resolution
    older than that become 'too_old' instead. Without a URL nothing is posted and they
    stay pending."""
    counts = {"sent": 0, "failed": 0, "too_old": 0}
    oldest = pd.Timestamp(today - dt.timedelta(days=max_age_days))
    posts = []
    for i in episodes.index:
        row = episodes.loc[i]
        if row["start_notify"] in ("pending", "failed"):
            posts.append((i, "start_notify", "start", row["last_seen"]))
        if row["resolve_notify"] in ("pending", "failed"):
            posts.append((i, "resolve_notify", "resolved", row["resolved_on"]))
    for i, column, _event, seen in posts:
        if seen < oldest:
            episodes.loc[i, column] = "too_old"
            counts["too_old"] += 1
    if not url:
        return counts
    for i, column, event, _seen in posts:
        row = episodes.loc[i]
        if row[column] == "too_old":
            continue
        payload = {"source": "userops", "event": event, **{k: row[k] for k in (
            "alert", "subject", "severity", "value", "threshold")},
            "started": row["started"].date().isoformat(),
            "last_seen": row["last_seen"].date().isoformat(),
            "resolved_on": row["resolved_on"].date().isoformat() if event == "resolved"
            else None,
            "days_firing": int(row["days_firing"]),
            "message": row["first_message"] if event == "start" else
            f"resolved on {row['resolved_on'].date()} after {int(row['days_firing'])} "
            f"firing(s) since {row['started'].date()}; last: {row['last_message']}",
            "description": rules.ALERTS.get(row["alert"], "")}
        error = post_alert(url, payload)
        episodes.loc[i, "notify_attempts"] = int(row["notify_attempts"]) + 1
        if error is None:
            episodes.loc[i, [column, "notify_error"]] = ["sent", None]
            episodes.loc[i, "notified_at"] = now
            counts["sent"] += 1
        else:
            episodes.loc[i, [column, "notify_error"]] = ["failed", error]
            counts["failed"] += 1
            log.warning("alert webhook failed for %s %s (%s): %s (retried next run)",
                        row["alert"], row["started"].date(), event, error)
    return counts


def build_alerts_asset(settings: Settings):
    cfg = settings.config.alerts
    blocking = set(cfg.blocking)
    specs = [
        AssetCheckSpec(f"alert_{name}", asset=ALERTS_KEY, blocking=name in blocking,
                       description=f"{'Blocks' if name in blocking else 'WARN'}: {text}.")
        for name, text in rules.ALERTS.items()
    ]

    deps = [AssetKey(["marts", "fct_growth_accounting"]),
            AssetKey(["marts", "fct_user_base_flow"]),
            AssetKey(["marts", "fct_active_users_daily"]),
            AssetKey(["intermediate", "int_user_cohorts"]),
            AssetKey(["intermediate", "int_user_days"]),
            AssetKey(["marts", "fct_funnel_daily"]), RUNS_KEY, OUTCOMES_KEY]

    @multi_asset(
        specs=[
            AssetSpec(ALERTS_KEY, deps=deps, group_name="alerts", kinds=python_kinds(settings),
                      description="Business alerts: one row per firing (day, alert, subject, "
                      "severity, value, threshold, message), kept across runs; the days a "
                      "run builds are re-evaluated and replaced."),
            AssetSpec(EPISODES_KEY, deps=deps, group_name="alerts",
                      kinds=python_kinds(settings),
                      description="Alert episodes: an alert that stays true is one row "
                      "(started, last seen, resolved on, state open/resolved) with the "
                      "webhook's state for its start and its resolution."),
        ],
        check_specs=specs,
        name="fct_alerts",
        pool=WAREHOUSE_POOL,
    )
    def fct_alerts(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        firings, judged, span = evaluate(warehouse, settings)
        existing = warehouse.query(f"select * from {ALERTS_TABLE}") \
            if warehouse.exists(ALERTS_TABLE) else None
        now = pd.Timestamp.now(tz="UTC")
        frame = merge(existing, firings, span, blocking, context.run_id, now)
        previous = warehouse.query(f"select * from {EPISODES_TABLE}") \
            if warehouse.exists(EPISODES_TABLE) else None
        spans = track(previous, rules.episodes(frame, cfg.period, span[1]))
        sent = notify(spans, os.environ.get(cfg.webhook_env), span[1], cfg.notify_max_age_days,
                      context.log, now)
        warehouse.replace(ALERTS_TABLE, frame, dates=("alert_date",))
        warehouse.replace(EPISODES_TABLE, spans, dates=("started", "last_seen", "resolved_on"))
        context.log.info("alerts: %d firings over %s .. %s; %d open episodes; "
                         "notifications %s", len(firings), span[0], span[1],
                         int((spans["state"] == "open").sum()), sent)
        yield MaterializeResult(asset_key=ALERTS_KEY, metadata={
            "firings_this_run": len(firings), "rows": len(frame),
            "evaluated_from": str(span[0]), "evaluated_through": str(span[1])})
        yield MaterializeResult(asset_key=EPISODES_KEY, metadata={
            "episodes": len(spans), "open": int((spans["state"] == "open").sum()),
            **{f"webhook_{k}": v for k, v in sent.items()}})
        for name in rules.ALERTS:
            day = judged[name]
            mine = [f for f in firings if f.alert == name]
            now_firing = [f for f in mine if f.alert_date == day]
            metadata = {"judged_day": str(day) if day else "no complete period",
                        "firings_this_run": len(mine)}
            if now_firing:
                top = now_firing[0]
                metadata.update(value=top.value, threshold=top.threshold, message=top.message,
                                subjects=", ".join(f.subject for f in now_firing if f.subject))
            yield AssetCheckResult(
                asset_key=ALERTS_KEY, check_name=f"alert_{name}", passed=not now_firing,
                severity=AssetCheckSeverity.ERROR if name in blocking else AssetCheckSeverity.WARN,
                metadata=metadata)

    return fct_alerts


def build_alert_checks(settings: Settings):
    @asset_check(
        asset=TREND_KEY,
        name="latest_day_not_anomalous",
        description=(
            "WARN when the latest day's engagement trend (campaign traffic excluded) has a "
            "robust z-score beyond the configured threshold."
        ),
    )
    def latest_day_not_anomalous(
        context: AssetCheckExecutionContext, warehouse: ResourceParam[Warehouse]
    ) -> AssetCheckResult:
        row = warehouse.row(
            "select activity_date, engagement_trend, trailing_median, robust_z, is_anomaly "
            "from marts.fct_engagement_trend order by activity_date desc limit 1")
        if row is None:
            return AssetCheckResult(passed=True, metadata={"note": "no days yet"})
        day, value, median, z, anomalous = row
        return AssetCheckResult(
            passed=not anomalous,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "activity_date": str(day),
                "engagement_trend": int(value),
                "trailing_median": float(median) if median is not None else None,
                "robust_z": float(z) if z is not None else None,
                "threshold": settings.config.engagement.anomaly_z,
            },
        )

    return [latest_day_not_anomalous]
