"""Business alerts: pure rules over the marts' numbers (no Dagster, no warehouse).

Each rule takes the frames it needs and returns the firings as `Firing`s: the day the
alert is about, the alert's name, a subject (a channel, or "" for the whole product), the
value that fired it, the threshold, and a one-line message with the numbers. The asset
(orchestration/assets/alerts.py) reads the frames, records the firings in
marts.fct_alerts, groups them into episodes (`episodes`: an alert that stays true is one
episode from its start to its resolution, in marts.fct_alert_episodes) and reports each
alert as an asset check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALERTS: dict[str, str] = {
    "decline_rule": "by the churn standard, the user base shrank: new and returned users "
                    "fell short of the churned in the latest complete period",
    "quick_ratio_low": "quick ratio below the threshold, beyond noise, in the latest "
                       "complete period",
    "net_growth_negative": "net active growth negative, beyond noise, for N complete "
                           "periods in a row",
    "channel_unstable": "an acquisition channel turned unstable (CV of daily signups)",
    "high_risk_share_jump": "share of high-risk users jumped since the previous scoring",
    "bounced_only_spike": "spike in bounced-only (pseudo-active) users",
    "campaign_heavy_day": "most engaged visits of the day came from campaign traffic",
    "action_not_working": "a worklist action measured against its holdout: no effect or harmful",
    "funnel_conversion_drop": "a funnel step's conversion fell significantly below its own "
                              "trailing baseline (per funnel, step and breakdown value)",
}


@dataclass(frozen=True)
class Firing:
    alert_date: dt.date
    alert: str
    subject: str
    value: float
    threshold: float
    message: str


@dataclass(frozen=True)
class AlertThresholds:
    noise_z: float
    quick_ratio_min: float
    net_growth_negative_periods: int
    high_risk_share_jump: float
    bounced_only_z: float
    bounced_only_min_rise: float
    campaign_share_max: float
    stable_max_cv: float
    stability_window_days: int
    trend_window_days: int
    trend_min_history_days: int
    channel_compare_days: int
    channel_dispersion_p: float


def period_end(start: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=6)
    nxt = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def _complete(growth: pd.DataFrame) -> pd.DataFrame:
    done = growth[growth["is_complete"].astype(bool)].sort_values("period_start")
    return done.reset_index(drop=True)


def _days(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column]).dt.date


def decline_alerts(flow: pd.DataFrame, grain: str, first: dt.date, last: dt.date,
                   t: AlertThresholds) -> list[Firing]:
    """decline_rule for every complete period of `flow` (fct_user_base_flow at one grain)
    that ends between first and last. By the churn standard: the users who crossed
    churn_days of inactivity in the period (churn rate = churned / base, the users not
    churned at its start) against the users who joined the base (new-user ratio = new /
    base; returned: churned users active again). The practice compares the new-user ratio
    with the churn rate alone; counting the returned too keeps a product whose base holds
    steady from firing every period (there, new = churned - returned). Fires when the
    shortfall churned - new - returned is at least noise_z standard errors, sqrt(churned
    + new + returned) for Poisson counts, so a period's noise does not fire it."""
    done = _complete(flow)
    out: list[Firing] = []
    for row in done.itertuples(index=False):
        start = pd.Timestamp(row.period_start).date()
        end = period_end(start, grain)
        if not first <= end <= last or not row.base_users:
            continue
        inflow = row.new_users + row.returned_users
        shortfall = row.churned_users - inflow
        noise = float(np.sqrt(row.churned_users + inflow))
        if shortfall <= 0 or shortfall < t.noise_z * noise:
            continue
        out.append(Firing(
            end, "decline_rule", "", float(row.new_user_ratio), float(row.churn_rate),
            f"{grain} of {start}: new-user ratio {row.new_user_ratio:.3f} + return rate "
            f"{row.return_rate:.3f} < churn rate {row.churn_rate:.3f} of a base of "
            f"{row.base_users:,} ({row.new_users} new + {row.returned_users} returned vs "
            f"{row.churned_users} churned: short by {shortfall}, "
            f"{shortfall / noise:.1f} standard errors >= {t.noise_z:g})"))
    return out


def growth_alerts(growth: pd.DataFrame, grain: str, first: dt.date, last: dt.date,
                  t: AlertThresholds) -> list[Firing]:
    """quick_ratio_low and net_growth_negative for every complete period of
    `growth` (fct_growth_accounting at one grain) that ends between first and last; the
    alert's day is the period's last day."""
    done = _complete(growth)
    if done.empty:
        return []
    done["period_start"] = _days(done, "period_start")
    out: list[Firing] = []
    for i, row in done.iterrows():
        end = period_end(row["period_start"], grain)
        if not first <= end <= last:
            continue
        label = f"{grain} of {row['period_start']}"
        quick, q = row["quick_ratio"], t.quick_ratio_min
        inflow = row["new_users"] + row["resurrected_users"]
        churned = row["churned_users"]
        # q * churned - inflow: the users missing to reach the threshold; its standard
        # error sqrt(inflow + q^2 churned) for Poisson counts
        missing = q * churned - inflow
        noise = float(np.sqrt(inflow + q * q * churned))
        if pd.notna(quick) and quick < q and missing >= t.noise_z * noise:
            out.append(Firing(end, "quick_ratio_low", "", float(quick), q,
                              f"{label}: quick ratio {quick:.2f} < {q:g} "
                              f"(new {row['new_users']:.0f} + resurrected "
                              f"{row['resurrected_users']:.0f} vs churned "
                              f"{churned:.0f}: {missing / noise:.1f} standard errors "
                              f">= {t.noise_z:g})"))
        n = t.net_growth_negative_periods
        recent = done.iloc[max(0, i - n + 1): i + 1]
        nets = recent["net_growth"]
        # together beyond noise: the summed loss over sqrt of all the users who moved
        moved = (recent["new_users"] + recent["resurrected_users"]
                 + recent["churned_users"]).sum()
        beyond = moved > 0 and -nets.sum() >= t.noise_z * float(np.sqrt(moved))
        if len(recent) == n and (nets < 0).all() and beyond:
            values = ", ".join(f"{v:+.0f}" for v in nets)
            out.append(Firing(end, "net_growth_negative", "", float(nets.iloc[-1]), 0.0,
                              f"{label}: net active growth negative {n} {grain}s in a row "
                              f"({values}; {-nets.sum() / np.sqrt(moved):.1f} standard "
                              f"errors together >= {t.noise_z:g})"))
    return out


def _daily_signups(signups: pd.DataFrame, channel: str, end: dt.date,
                   window: int) -> np.ndarray:
    """A channel's signups on each of the `window` days ending on `end`, 0 where none."""
    days = pd.date_range(end - dt.timedelta(days=window - 1), end).date
    mine = signups[signups["channel"] == channel]
    counts = mine.set_index("signup_date")["new_users"].reindex(days, fill_value=0)
    return counts.to_numpy(dtype=float)


def signup_cv(signups: pd.DataFrame, channel: str, end: dt.date, window: int) -> float | None:
    """Coefficient of variation (population) of a channel's daily signups over the
    `window` days ending on `end`, days without signups counted as 0 (as in
    fct_channel_quality); None when the channel had none."""
    counts = _daily_signups(signups, channel, end, window)
    mean = counts.mean()
    return None if mean == 0 else float(counts.std() / mean)


def dispersion_p(signups: pd.DataFrame, channel: str, end: dt.date, window: int) -> float:
    """p-value that a channel's daily signups over the window are no more variable than
    Poisson counts: (n - 1) s^2 / mean against chi-square(n - 1) (the index-of-dispersion
    test); 1.0 without signups."""
    counts = _daily_signups(signups, channel, end, window)
    mean = counts.mean()
    if mean == 0 or len(counts) < 2:
        return 1.0
    statistic = (len(counts) - 1) * counts.var(ddof=1) / mean
    return float(stats.chi2.sf(statistic, len(counts) - 1))


def channel_alerts(signups: pd.DataFrame, day: dt.date, t: AlertThresholds) -> list[Firing]:
    """channel_unstable: a channel stable `channel_compare_days` ago (CV of daily signups
    below stable_max_cv) and unstable on `day`: CV at or above it, and the signups
    overdispersed against Poisson counts (dispersion_p below channel_dispersion_p), since
    a small channel's CV is high by chance alone (Poisson: 1 / sqrt(mean)). `signups`:
    channel, signup_date, new_users."""
    signups = signups.assign(signup_date=_days(signups, "signup_date"))
    before = day - dt.timedelta(days=t.channel_compare_days)
    out = []
    for channel in sorted(signups["channel"].dropna().unique()):
        now = signup_cv(signups, channel, day, t.stability_window_days)
        then = signup_cv(signups, channel, before, t.stability_window_days)
        stable_then = then is not None and then < t.stable_max_cv
        stable_now = now is not None and now < t.stable_max_cv
        if stable_then and not stable_now:
            p = dispersion_p(signups, channel, day, t.stability_window_days)
            if now is not None and p >= t.channel_dispersion_p:
                continue  # as variable as Poisson counts of its size: chance
            shown = "no signups" if now is None else f"{now:.2f}, dispersion p {p:.1g}"
            out.append(Firing(day, "channel_unstable", channel,
                              float("nan") if now is None else now, t.stable_max_cv,
                              f"channel {channel}: CV of daily signups over "
                              f"{t.stability_window_days} days {shown} (was {then:.2f} on "
                              f"{before}), stable below {t.stable_max_cv:g}"))
    return out


def risk_share_alert(runs: pd.DataFrame, t: AlertThresholds) -> list[Firing]:
    """high_risk_share_jump: the latest scoring's share of high-risk users (churn_model_runs
    .high_risk_share) against the previous snapshot's."""
    runs = runs.dropna(subset=["high_risk_share"]).sort_values("snapshot_date")
    if len(runs) < 2:
        return []
    prev, last = runs.iloc[-2], runs.iloc[-1]
    # rounded: 0.15 - 0.10 is 0.0499999... in binary, and a jump of exactly the
    # threshold must fire
    jump = round(float(last["high_risk_share"] - prev["high_risk_share"]), 9)
    if jump < t.high_risk_share_jump:
        return []
    day = pd.Timestamp(last["snapshot_date"]).date()
    return [Firing(day, "high_risk_share_jump", "", jump, t.high_risk_share_jump,
                   f"high-risk share {last['high_risk_share']:.1%} vs "
                   f"{prev['high_risk_share']:.1%} on {pd.Timestamp(prev['snapshot_date']).date()}"
                   f" (+{jump * 100:.1f} points >= {t.high_risk_share_jump * 100:g})")]


def robust_z(values: pd.Series, window: int, min_history: int) -> pd.Series:
    """Per position, 0.6745 (x - median) / MAD over the `window` values before it (the
    engagement trend's z); NaN with fewer than `min_history` of them or MAD 0."""
    x = values.to_numpy(dtype=float)
    z = np.full(len(x), np.nan)
    for i in range(len(x)):
        past = x[max(0, i - window): i]
        past = past[~np.isnan(past)]
        if len(past) < min_history or np.isnan(x[i]):
            continue
        med = np.median(past)
        mad = np.median(np.abs(past - med))
        if mad > 0:
            z[i] = 0.6745 * (x[i] - med) / mad
    return pd.Series(z, index=values.index)


def bounced_only_alerts(daily: pd.DataFrame, first: dt.date, last: dt.date,
                        t: AlertThresholds) -> list[Firing]:
    """bounced_only_spike: a day whose share of bounced-only users (visited, every visit
    bounced) among all visitors has a robust z >= bounced_only_z over the trailing days
    and is at least bounced_only_min_rise above their median.
    `daily`: activity_date, dau, bounced_only_users (fct_active_users_daily, all users)."""
    if daily.empty:
        return []
    daily = daily.assign(activity_date=_days(daily, "activity_date")).sort_values(
        "activity_date").reset_index(drop=True)
    visitors = daily["dau"] + daily["bounced_only_users"]
    share = (daily["bounced_only_users"] / visitors.where(visitors > 0)).astype(float)
    z = robust_z(share, t.trend_window_days, t.trend_min_history_days)
    # and a rise a team would care about: a steady share moves by a point or two, and
    # with a small MAD that alone reached the z on a growing product
    past = share.shift(1).rolling(t.trend_window_days, min_periods=1).median()
    out = []
    for i, day in enumerate(daily["activity_date"]):
        if (first <= day <= last and z[i] >= t.bounced_only_z
                and share[i] - past[i] >= t.bounced_only_min_rise):
            out.append(Firing(day, "bounced_only_spike", "", float(z[i]), t.bounced_only_z,
                              f"{int(daily['bounced_only_users'][i])} bounced-only users, "
                              f"{share[i]:.1%} of visitors (robust z {z[i]:.1f} >= "
                              f"{t.bounced_only_z:g})"))
    return out


def campaign_alerts(days: pd.DataFrame, first: dt.date, last: dt.date,
                    t: AlertThresholds) -> list[Firing]:
    """campaign_heavy_day: a day on which more than campaign_share_max of the engaged
    visits were campaign traffic. `days`: activity_date, engaged_visits,
    engaged_visits_without_campaign (sums over users)."""
    out = []
    for row in days.itertuples(index=False):
        day = pd.Timestamp(row.activity_date).date()
        if not first <= day <= last or not row.engaged_visits:
            continue
        share = 1 - row.engaged_visits_without_campaign / row.engaged_visits
        if share > t.campaign_share_max:
            out.append(Firing(day, "campaign_heavy_day", "", float(share), t.campaign_share_max,
                              f"{share:.0%} of {int(row.engaged_visits)} engaged visits came "
                              f"with a campaign (> {t.campaign_share_max:.0%}); the engagement "
                              "trend leaves them out"))
    return out


def action_alerts(outcomes: pd.DataFrame, day: dt.date) -> list[Firing]:
    """Actions whose measured verdict (overall rows of fct_action_outcomes, one window)
    is no effect or harmful, judged on `day`."""
    out = []
    for row in outcomes.itertuples(index=False):
        if row.verdict not in ("no effect", "harmful"):
            continue
        out.append(Firing(
            day, "action_not_working", row.action_key, float(row.return_uplift), 0.0,
            f"action {row.action_key}: {row.verdict}, return uplift "
            f"{row.return_uplift * 100:+.1f} points (95 % interval "
            f"{row.return_uplift_low * 100:+.1f} to {row.return_uplift_high * 100:+.1f}) within "
            f"{row.outcome_days} days, {row.treated_users} treated vs "
            f"{row.holdout_users} held out"))
    return out


PERIOD_ALERTS = ("decline_rule", "quick_ratio_low", "net_growth_negative")
EPISODE_COLUMNS = ["alert", "subject", "severity", "started", "last_seen", "resolved_on",
                   "days_firing", "value", "threshold", "first_message", "last_message"]


def next_judgement(alert: str, grain: str, day: dt.date) -> dt.date:
    """The day an alert is judged next after `day`: the end of the next period for the
    growth alerts (judged on complete periods), else the next day."""
    if alert in PERIOD_ALERTS:
        return period_end(day + dt.timedelta(days=1), grain)
    return day + dt.timedelta(days=1)


def episodes(log: pd.DataFrame, grain: str, judged_through: dt.date) -> pd.DataFrame:
    """Episodes of the firings in `log` (fct_alerts: alert_date, alert, subject, severity,
    value, threshold, message): one per alert and subject and unbroken run of firings,
    a firing on the alert's next judgement continuing it. Resolved on the first
    judgement without a firing, once the alerts were judged through that day; open
    (resolved_on None) while it holds. A pure function of the log, so a rerun that
    rewrites days rebuilds the same episodes."""
    rows = []
    if log.empty:
        return pd.DataFrame(columns=EPISODE_COLUMNS)
    log = log.assign(alert_date=_days(log, "alert_date")).sort_values(
        ["alert", "subject", "alert_date"])
    for (alert, subject), fired in log.groupby(["alert", "subject"], sort=True):
        days = fired["alert_date"].tolist()
        begin = 0
        for i in range(1, len(days) + 1):
            if i < len(days) and days[i] <= next_judgement(alert, grain, days[i - 1]):
                continue
            run = fired.iloc[begin:i]
            ends = next_judgement(alert, grain, days[i - 1])
            rows.append({
                "alert": alert, "subject": subject, "severity": run["severity"].iloc[-1],
                "started": days[begin], "last_seen": days[i - 1],
                "resolved_on": ends if judged_through >= ends else None,
                "days_firing": len(run), "value": float(run["value"].iloc[-1]),
                "threshold": float(run["threshold"].iloc[-1]),
                "first_message": run["message"].iloc[0],
                "last_message": run["message"].iloc[-1]})
            begin = i
    return pd.DataFrame(rows, columns=EPISODE_COLUMNS)


def latest(firings: Iterable[Firing], alert: str) -> Firing | None:
    mine = [f for f in firings if f.alert == alert]
    return max(mine, key=lambda f: (f.alert_date, f.subject)) if mine else None
