"""Closing the loop (闭环): holdout assignment and the measured effect of an action.

Pure functions, no Dagster and no warehouse. A user in the day's worklist for an action
(its key: "scheme:segment", or a campaign id) is assigned to `holdout` when a hash of
(user, action key, assignment period) falls below the holdout share, else to
`treatment`: the same inputs always give the same group, so a rerun or a second export
never moves a user. The SQL of user_actions computes the same hash
(dbt_project/macros/loop.sql); `tests/test_loop.py` pins both to the same answers.

The effect is read intent-to-treat: every unit (user × action key × period) the team
landed in `contacts`, treated or held out, is compared by its group, from the day of its
first contact row (sent, or withheld for the holdout), whether the message reached the
user or not. That keeps the comparison randomised; a per-delivered-message comparison
would not be.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval
EPOCH_MONDAY = dt.date(1970, 1, 5)  # periods count from a Monday: 7-day periods are weeks
VERDICTS = ("works", "no effect", "harmful", "too few users yet")


@dataclass(frozen=True)
class LoopSettings:
    holdout_share: float
    assignment_period_days: int
    outcome_days: tuple[int, ...]
    min_users: int  # per group, for a verdict
    min_effect: float  # the smallest return uplift worth having, for "no effect"


def period_start(day: dt.date, period_days: int) -> dt.date:
    """The first day of the assignment period that holds `day`."""
    n = (day - EPOCH_MONDAY).days // period_days
    return EPOCH_MONDAY + dt.timedelta(days=n * period_days)


def unit_hash(user_id: str, action_key: str, period: dt.date) -> float:
    """A number in [0, 1) fixed by (user, action key, period): md5's first 32 bits."""
    text = f"{user_id}|{action_key}|{period.isoformat()}"
    return int(hashlib.md5(text.encode()).hexdigest()[:8], 16) / 2**32


def assignment(user_id: str, action_key: str, period: dt.date, holdout_share: float) -> str:
    return "holdout" if unit_hash(user_id, action_key, period) < holdout_share else "treatment"


def action_id(user_id: str, action_key: str, period: dt.date) -> str:
    """The stable id of one user's action in one period (what the export hands over)."""
    return hashlib.md5(f"{user_id}|{action_key}|{period.isoformat()}".encode()).hexdigest()[:16]


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion (Wilson 1927)."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score interval (Newcombe 1998, method 10), built from
    the two Wilson intervals: sound for small groups and rates near 0 or 1."""
    if n1 == 0 or n2 == 0:
        return (math.nan, math.nan, math.nan)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return (d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """mean(a) - mean(b) with Welch's unequal-variance 95 % interval (the t quantile of
    the Welch-Satterthwaite degrees of freedom)."""
    from scipy import stats

    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return (math.nan, math.nan, math.nan)
    d = float(np.mean(a) - np.mean(b))
    v1, v2 = float(np.var(a, ddof=1)) / n1, float(np.var(b, ddof=1)) / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return (d, d, d)
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    q = float(stats.t.ppf(0.975, df))
    return (d, d - q * se, d + q * se)


def verdict(low: float, high: float, n_treated: int, n_holdout: int, min_users: int,
            min_effect: float) -> str:
    """On the primary outcome (return), from its 95 % interval: works when the whole
    interval is above 0, harmful when below; no effect when it rules out any uplift of
    `min_effect` or more while holding 0; else (too wide to tell) and until each group
    has `min_users` units whose window elapsed: too few users yet."""
    if min(n_treated, n_holdout) < min_users or math.isnan(low):
        return "too few users yet"
    if low > 0:
        return "works"
    if high < 0:
        return "harmful"
    if high < min_effect:
        return "no effect"
    return "too few users yet"


OUTCOME_COLUMNS = (
    "action_key", "cohort_week", "channel", "outcome_days", "treated_users", "holdout_users",
    "holdout_share", "contacted_share", "pending_users", "is_complete",
    "return_rate_treated", "return_rate_holdout", "return_uplift", "return_uplift_low",
    "return_uplift_high", "conversion_rate_treated", "conversion_rate_holdout",
    "conversion_uplift", "conversion_uplift_low", "conversion_uplift_high",
    "revenue_per_user_treated", "revenue_per_user_holdout", "revenue_uplift",
    "revenue_uplift_low", "revenue_uplift_high", "incremental_returns",
    "incremental_revenue", "cost", "cost_per_incremental_return", "roi", "verdict",
)
INTEGER_COLUMNS = ("outcome_days", "treated_users", "holdout_users", "pending_users")
TEXT_COLUMNS = ("action_key", "channel", "verdict")


def typed_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """The outcome columns with fixed types, rows or none (an empty table keeps them)."""
    out = frame.reindex(columns=list(OUTCOME_COLUMNS)).copy()
    for column in OUTCOME_COLUMNS:
        if column in TEXT_COLUMNS:
            out[column] = out[column].astype(object)
        elif column == "cohort_week":
            out[column] = pd.to_datetime(out[column])
        elif column == "is_complete":
            out[column] = out[column].astype(bool)
        elif column in INTEGER_COLUMNS:
            out[column] = pd.to_numeric(out[column]).astype("int64")
        else:
            out[column] = pd.to_numeric(out[column]).astype("float64")
    return out


def _group(units: pd.DataFrame, n: int, loop: LoopSettings) -> dict:
    done = units[units[f"window_complete_{n}"]]
    t, h = done[done["assignment"] == "treatment"], done[done["assignment"] == "holdout"]
    nt, nh = len(t), len(h)
    ret = newcombe(int(t[f"returned_{n}"].sum()), nt, int(h[f"returned_{n}"].sum()), nh)
    conv = newcombe(int(t[f"converted_{n}"].sum()), nt, int(h[f"converted_{n}"].sum()), nh)
    rev = welch(t[f"revenue_{n}"].to_numpy(float), h[f"revenue_{n}"].to_numpy(float))
    cost = float(units.loc[units["assignment"] == "treatment", "cost"].sum())
    incremental_returns = ret[0] * nt if nt and nh else math.nan
    incremental_revenue = rev[0] * nt if nt > 1 and nh > 1 else math.nan
    treated_all = units[units["assignment"] == "treatment"]
    return {
        "treated_users": nt, "holdout_users": nh,
        "holdout_share": nh / (nt + nh) if nt + nh else math.nan,
        "contacted_share": float(treated_all["contacted"].mean()) if len(treated_all)
        else math.nan,
        "pending_users": int(len(units) - len(done)),
        "is_complete": bool(len(done) == len(units)),
        "return_rate_treated": t[f"returned_{n}"].mean() if nt else math.nan,
        "return_rate_holdout": h[f"returned_{n}"].mean() if nh else math.nan,
        "return_uplift": ret[0], "return_uplift_low": ret[1], "return_uplift_high": ret[2],
        "conversion_rate_treated": t[f"converted_{n}"].mean() if nt else math.nan,
        "conversion_rate_holdout": h[f"converted_{n}"].mean() if nh else math.nan,
        "conversion_uplift": conv[0], "conversion_uplift_low": conv[1],
        "conversion_uplift_high": conv[2],
        "revenue_per_user_treated": t[f"revenue_{n}"].mean() if nt else math.nan,
        "revenue_per_user_holdout": h[f"revenue_{n}"].mean() if nh else math.nan,
        "revenue_uplift": rev[0], "revenue_uplift_low": rev[1], "revenue_uplift_high": rev[2],
        "incremental_returns": incremental_returns,
        "incremental_revenue": incremental_revenue,
        "cost": cost,
        "cost_per_incremental_return": cost / incremental_returns
        if cost and incremental_returns and incremental_returns > 0 else math.nan,
        "roi": (incremental_revenue - cost) / cost if cost and not math.isnan(
            incremental_revenue) else math.nan,
        "verdict": verdict(ret[1], ret[2], nt, nh, loop.min_users, loop.min_effect),
    }


def action_outcomes(units: pd.DataFrame, settings: LoopSettings) -> pd.DataFrame:
    """fct_action_outcomes from int_action_units (one row per user × action key × period
    with its group, first contact day, cost, and per window whether it elapsed, returned,
    converted and the revenue): per action key and window, overall (cohort_week null,
    channel 'all'), per week of the first contact, and per channel."""
    rows = []
    if units.empty:
        return typed_outcomes(pd.DataFrame(columns=list(OUTCOME_COLUMNS)))
    units = units.copy()
    units["cohort_week"] = pd.to_datetime(units["first_contact_date"]).dt.to_period(
        "W-SUN").dt.start_time.dt.date
    for n in settings.outcome_days:
        for key, of_key in units.groupby("action_key", sort=True):
            parts = [(None, "all", of_key)]
            parts += [(week, "all", g) for week, g in of_key.groupby("cohort_week", sort=True)]
            parts += [(None, ch, g) for ch, g in of_key.groupby("channel", sort=True)]
            for week, channel, g in parts:
                rows.append({"action_key": key, "cohort_week": week, "channel": channel,
                             "outcome_days": n, **_group(g, n, settings)})
    return typed_outcomes(pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS)))
