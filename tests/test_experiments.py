"""Welch readout against a hand-computed case."""

import math

import pandas as pd
import pytest
from scipy import stats

from models.experiments import experiment_readout, welch_interval


def test_welch_interval_hand_computed():
    # control 1,2,3: mean 2, variance 1; treatment 3,4,5: mean 4, variance 1.
    # se = sqrt(1/3 + 1/3) = 0.816497; Welch df = (2/3)^2 / (2 * (1/3)^2 / 2) = 4;
    # t(0.975, 4) = 2.776445 (t table); half width = 2.776445 * 0.816497 = 2.266958.
    diff, lo, hi, df, p = welch_interval([1, 2, 3], [3, 4, 5], 0.95)
    assert diff == pytest.approx(2.0)
    assert df == pytest.approx(4.0)
    assert lo == pytest.approx(2 - 2.266958, abs=1e-5)
    assert hi == pytest.approx(2 + 2.266958, abs=1e-5)
    # p from scipy's own Welch test, an implementation independent of ours
    assert p == pytest.approx(stats.ttest_ind([3, 4, 5], [1, 2, 3], equal_var=False).pvalue)


def test_unequal_variances_use_satterthwaite_df():
    a, b = [1, 2, 3, 4], [2, 4, 6]
    # va = 1.6667/4 = 0.416667, vb = 4/3 = 1.333333; df = 1.75^2 / (0.416667^2/3 + 1.333333^2/2)
    expected_df = 1.75**2 / (0.416667**2 / 3 + 1.333333**2 / 2)
    _, _, _, df, _ = welch_interval(a, b)
    assert df == pytest.approx(expected_df, rel=1e-4)


def test_degenerate_groups_give_no_interval():
    diff, lo, hi, df, p = welch_interval([1], [2, 3])
    assert diff == pytest.approx(1.5) and math.isnan(lo) and math.isnan(hi) and math.isnan(p)
    assert math.isnan(welch_interval([2, 2], [2, 2])[1])


def test_readout_rows():
    users = pd.DataFrame({
        "experiment_id": ["x"] * 6 + ["y"] * 2,
        "variant": ["control"] * 3 + ["treatment"] * 3 + ["a", "b"],
        "engagement_index": [1, 2, 3, 3, 4, 5, 1, 2],
    })  # fmt: skip
    out = experiment_readout(users, "control").set_index(["experiment_id", "variant"])
    assert out.loc[("x", "control"), "users"] == 3 and out.loc[("x", "control"), "is_control"]
    assert math.isnan(out.loc[("x", "control"), "diff_to_control"])
    assert out.loc[("x", "treatment"), "diff_to_control"] == pytest.approx(2.0)
    assert out.loc[("x", "treatment"), "mean_engagement"] == pytest.approx(4.0)
    # an experiment without a control variant gets no differences
    assert out.loc[("y", "a")].isna()["diff_to_control"]
