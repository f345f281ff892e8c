"""funnel_conversion_drop: a funnel step's conversion over the last days fell significantly
below its own trailing baseline, per funnel, step and breakdown value (docs/METRICS.md,
"Alerts"). A pure rule over fct_funnel_daily's rows (no Dagster, no warehouse).

Judged on day D, for each funnel step k >= 2 and breakdown value: the users who reached
step k-1 and step k among those who entered on the `recent_days` entry days ending
`lag` days before D (the funnel's window must have closed for them by D), against the
`baseline_days` entry days before those. A one-sided two-proportion z-test with the
pooled rate, its variance widened by the baseline days' own overdispersion (Pearson's
chi-square per degree of freedom, at least 1: quasi-binomial), Bonferroni-corrected over
every cell judged that day. It fires when the p-value is below `p_value` / cells, the
conversion fell by at least `min_relative_drop` of the baseline, and both windows hold
`min_users` at step k-1. A break that lasts is one episode (models/alerts.episodes).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from models.alerts import Firing

ALERT = "funnel_conversion_drop"


@dataclass(frozen=True)
class FunnelDropSettings:
    recent_days: int
    baseline_days: int
    min_users: int
    p_value: float
    min_relative_drop: float


@dataclass(frozen=True)
class _Cell:
    funnel: str
    breakdown: str
    value: str
    step_number: int
    step: str
    previous: str
    lag: int
    n: np.ndarray  # users at the previous step, per entry day of the series
    x: np.ndarray  # users at this step


def lag_days(within_hours: float) -> int:
    """Days after an entry day by whose end every entrant's window has closed."""
    return max(1, math.ceil(within_hours / 24))


def _cells(daily: pd.DataFrame, lags: dict[str, int], days: pd.DatetimeIndex) -> list[_Cell]:
    out = []
    for (funnel, breakdown, value), rows in daily.groupby(
            ["funnel", "breakdown", "breakdown_value"], sort=True):
        users = rows.pivot_table(index="activity_date", columns="step_number", values="users",
                                 aggfunc="sum").reindex(days, fill_value=0).fillna(0)
        steps = rows.drop_duplicates("step_number").set_index("step_number")["step"]
        for k in sorted(steps.index):
            if k < 2 or k - 1 not in users.columns or k not in users.columns:
                continue
            out.append(_Cell(funnel, breakdown, value, int(k), steps[k], steps[k - 1],
                             lags.get(funnel, 1), users[k - 1].to_numpy(dtype=float),
                             users[k].to_numpy(dtype=float)))
    return out


def _dispersion(n: np.ndarray, x: np.ndarray, rate: float) -> float:
    """Pearson's chi-square per degree of freedom of the days' counts around `rate`, at
    least 1: how much more the daily conversion varies than binomial draws would."""
    seen = n > 0
    if seen.sum() < 2 or rate <= 0 or rate >= 1:
        return 1.0
    chi2 = float((((x[seen] - n[seen] * rate) ** 2) / (n[seen] * rate * (1 - rate))).sum())
    return max(1.0, chi2 / (seen.sum() - 1))


def funnel_drop_alerts(daily: pd.DataFrame, lags: dict[str, int], first: dt.date,
                       last: dt.date, s: FunnelDropSettings) -> list[Firing]:
    """Firings of funnel_conversion_drop on each day of first..last. `daily`: rows of
    fct_funnel_daily (funnel, activity_date, breakdown, breakdown_value, step_number, step,
    users); `lags`: each funnel's lag_days(within_hours)."""
    if daily.empty:
        return []
    daily = daily.assign(activity_date=pd.to_datetime(daily["activity_date"]))
    origin = daily["activity_date"].min()
    days = pd.date_range(origin, pd.Timestamp(last))
    cells = _cells(daily, lags, days)
    judged = pd.date_range(max(pd.Timestamp(first), origin), pd.Timestamp(last))
    out = []
    for day in judged:
        tests = []
        for c in cells:
            end = (day - origin).days - c.lag  # index of the last recent entry day
            b0 = end - s.recent_days - s.baseline_days + 1
            if b0 < 0:
                continue  # the baseline reaches before the funnel's first day
            r, b = slice(end - s.recent_days + 1, end + 1), slice(b0, end - s.recent_days + 1)
            n_r, x_r, n_b, x_b = c.n[r].sum(), c.x[r].sum(), c.n[b].sum(), c.x[b].sum()
            if n_r < s.min_users or n_b < s.min_users:
                continue
            p_r, p_b = x_r / n_r, x_b / n_b
            pooled = (x_r + x_b) / (n_r + n_b)
            phi = _dispersion(c.n[b], c.x[b], p_b)
            se = math.sqrt(phi * pooled * (1 - pooled) * (1 / n_r + 1 / n_b))
            z = (p_r - p_b) / se if se > 0 else 0.0
            tests.append((c, end, n_r, p_r, n_b, p_b, z, phi))
        for c, end, n_r, p_r, n_b, p_b, z, phi in tests:
            p = float(stats.norm.cdf(z))
            if p >= s.p_value / len(tests) or p_b <= 0 or (p_b - p_r) / p_b < s.min_relative_drop:
                continue
            through = (origin + pd.Timedelta(days=end)).date()
            where = "" if c.breakdown == "all" else f" ({c.breakdown} {c.value})"
            subject = f"{c.funnel}: {c.previous} -> {c.step}{where}"
            out.append(Firing(
                day.date(), ALERT, subject, float(p_r), float(p_b),
                f"funnel {subject}: {p_r:.1%} of {int(n_r)} users over the {s.recent_days} "
                f"entry days to {through} against {p_b:.1%} of {int(n_b)} over the "
                f"{s.baseline_days} before (z {z:.1f}, one-sided p {p:.1g} < "
                f"{s.p_value:g} / {len(tests)} cells; dispersion {phi:.2f})"))
    return out
