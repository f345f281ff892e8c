"""Closing the loop: the interval arithmetic against published numbers, the verdicts,
the outcome table on hand-built units, and the holdout assignment."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models import loop
from models.loop import LoopSettings, action_outcomes, assignment, newcombe, verdict, welch

SETTINGS = LoopSettings(holdout_share=0.1, assignment_period_days=28, outcome_days=(14,),
                        min_users=2, min_effect=0.02)


@pytest.mark.parametrize("x1, n1, x2, n2, expected", [
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", Statistics in Medicine 17, Table II, method 10 (hybrid score)
    (56, 70, 48, 80, (0.2000, 0.0524, 0.3339)),
    (9, 10, 3, 10, (0.6000, 0.1705, 0.8090)),
])
def test_newcombe_matches_the_published_intervals(x1, n1, x2, n2, expected):
    assert tuple(round(v, 4) for v in newcombe(x1, n1, x2, n2)) == expected


def test_wilson_of_none_and_of_all():
    z2 = loop.Z95 ** 2
    assert loop.wilson(0, 40) == (0.0, pytest.approx(z2 / (40 + z2)))
    assert loop.wilson(40, 40) == (pytest.approx(40 / (40 + z2)), 1.0)
    assert all(math.isnan(v) for v in newcombe(1, 0, 1, 5))


def test_welch_matches_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.lognormal(3, 1, 80), rng.lognormal(3.2, 0.5, 25)
    d, low, high = welch(a, b)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (d, low, high) == pytest.approx((a.mean() - b.mean(), ci.low, ci.high))


@pytest.mark.parametrize("low, high, nt, nh, expected", [
    (0.01, 0.10, 100, 100, "works"),
    (-0.10, -0.01, 100, 100, "harmful"),
    (-0.05, 0.015, 100, 100, "no effect"),  # rules out an uplift of min_effect (0.02)
    (-0.05, 0.03, 100, 100, "too few users yet"),  # still allows a worthwhile uplift
    (0.01, 0.10, 100, 49, "too few users yet"),
    (math.nan, math.nan, 100, 100, "too few users yet"),
])
def test_verdict_thresholds(low, high, nt, nh, expected):
    assert verdict(low, high, nt, nh, min_users=50, min_effect=0.02) == expected


def _units(rows) -> pd.DataFrame:
    cols = ["user_id", "action_key", "assignment", "channel", "first_contact_date", "contacted",
            "cost", "window_complete_14", "returned_14", "converted_14", "revenue_14"]
    return pd.DataFrame(rows, columns=cols)


def test_outcomes_of_hand_built_units():
    d1, d2 = dt.date(2025, 3, 3), dt.date(2025, 3, 12)  # two weeks (Mondays 3 and 10)
    units = _units([
        ("u1", "a", "treatment", "sms", d1, True, 0.5, True, True, True, 30.0),
        ("u2", "a", "treatment", "sms", d1, True, 0.5, True, True, False, 0.0),
        ("u3", "a", "treatment", "push", d2, False, 0.5, True, False, False, 0.0),
        ("u4", "a", "treatment", "push", d2, True, 0.5, False, False, False, 0.0),  # pending
        ("u5", "a", "holdout", "sms", d1, False, 0.0, True, True, False, 0.0),
        ("u6", "a", "holdout", "push", d2, False, 0.0, True, False, False, 0.0),
        ("u7", "a", "holdout", "push", d2, False, 0.0, True, False, False, 10.0),
    ])
    out = action_outcomes(units, SETTINGS)
    overall = out[out["cohort_week"].isna() & (out["channel"] == "all")].iloc[0]
    assert (overall.treated_users, overall.holdout_users, overall.pending_users) == (3, 3, 1)
    assert not overall.is_complete and overall.outcome_days == 14
    assert overall.holdout_share == 0.5 and overall.contacted_share == 0.75
    assert (overall.return_rate_treated, overall.return_rate_holdout) == (2 / 3, 1 / 3)
    d, low, high = newcombe(2, 3, 1, 3)
    assert (overall.return_uplift, overall.return_uplift_low, overall.return_uplift_high) == (
        pytest.approx(d), pytest.approx(low), pytest.approx(high))
    assert overall.conversion_uplift == pytest.approx(1 / 3)
    assert overall.revenue_per_user_treated == 10.0
    assert overall.revenue_per_user_holdout == pytest.approx(10 / 3)
    assert overall.revenue_uplift == pytest.approx(20 / 3)
    assert overall.incremental_returns == pytest.approx(1.0)  # 1/3 x 3 treated users
    assert overall.incremental_revenue == pytest.approx(20.0)
    assert overall.cost == 2.0  # every treated unit's cost, pending ones too
    assert overall.cost_per_incremental_return == pytest.approx(2.0)
    assert overall.roi == pytest.approx((20.0 - 2.0) / 2.0)
    assert overall.verdict == "too few users yet"  # the interval holds 0 and is wide
    weeks = out[out["cohort_week"].notna()].set_index("cohort_week")
    assert list(weeks.index) == [pd.Timestamp(2025, 3, 3), pd.Timestamp(2025, 3, 10)]
    assert weeks.loc[pd.Timestamp(2025, 3, 3), "treated_users"] == 2
    channels = out[out["channel"] != "all"].set_index("channel")
    assert channels.loc["push", ["treated_users", "holdout_users"]].tolist() == [1, 2]
    assert list(out.dtypes[["treated_users", "return_uplift"]]) == ["int64", "float64"]
    assert action_outcomes(units.iloc[:0], SETTINGS).empty


def test_assignment_is_stable_and_its_share_within_binomial_bounds():
    period = loop.period_start(dt.date(2025, 3, 5), 28)
    users = [f"u{i}" for i in range(20000)]
    groups = [assignment(u, "lifecycle:churned", period, 0.1) for u in users]
    assert groups == [assignment(u, "lifecycle:churned", period, 0.1) for u in users]
    share = groups.count("holdout") / len(users)
    assert abs(share - 0.1) < 3 * math.sqrt(0.1 * 0.9 / len(users))
    # another action or period draws anew
    other = [assignment(u, "churn_risk:high", period, 0.1) for u in users]
    assert 0.75 < sum(a == b for a, b in zip(groups, other, strict=True)) / len(users) < 0.9


def test_assignment_periods_start_on_mondays():
    assert loop.period_start(dt.date(2025, 3, 5), 7) == dt.date(2025, 3, 3)
    first = loop.period_start(dt.date(2025, 3, 5), 28)
    assert first.weekday() == 0 and first <= dt.date(2025, 3, 5) < first + dt.timedelta(28)
    assert loop.period_start(first + dt.timedelta(27), 28) == first
