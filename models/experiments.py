"""Experiment readout: per variant, mean engagement and the difference to
control with a Welch (unequal variances) confidence interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

READOUT_COLUMNS = [
    "experiment_id", "variant", "is_control", "users", "mean_engagement", "std_engagement",
    "diff_to_control", "ci_low", "ci_high", "welch_df", "p_value", "confidence",
]  # fmt: skip


def welch_interval(
    a: np.ndarray, b: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float, float, float]:
    """Difference of means b - a with a Welch-Satterthwaite interval.

    Returns (diff, ci_low, ci_high, df, p_value); the interval and p are NaN
    when either group has fewer than 2 users or both variances are 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = float(b.mean() - a.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return diff, math.nan, math.nan, math.nan, math.nan
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, math.nan, math.nan, math.nan, math.nan
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = stats.t.ppf(1 - (1 - confidence) / 2, df)
    p = 2 * stats.t.sf(abs(diff / se), df)
    return diff, diff - t * se, diff + t * se, float(df), float(p)


def experiment_readout(
    users: pd.DataFrame, control_variant: str = "control", confidence: float = 0.95
) -> pd.DataFrame:
    """`users`: one row per experiment and user with columns experiment_id,
    variant, engagement_index. One output row per experiment and variant; the
    control row and experiments without a control have no difference."""
    rows = []
    for exp, group in users.groupby("experiment_id", sort=True):
        by_variant = {v: g["engagement_index"].to_numpy(float) for v, g in group.groupby("variant")}
        control = by_variant.get(control_variant)
        for variant, values in sorted(by_variant.items()):
            is_control = variant == control_variant
            if control is None or is_control:
                diff = lo = hi = df = p = math.nan
            else:
                diff, lo, hi, df, p = welch_interval(control, values, confidence)
            rows.append({
                "experiment_id": exp, "variant": variant, "is_control": is_control,
                "users": len(values), "mean_engagement": float(values.mean()),
                "std_engagement": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                "diff_to_control": diff, "ci_low": lo, "ci_high": hi, "welch_df": df,
                "p_value": p, "confidence": confidence,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=READOUT_COLUMNS)
