"""BG/NBD and Gamma-Gamma against the published CDNOW numbers and a simulation.

Published numbers (CDNOW_sample, 2,357 customers, calibration weeks 1-39, time in weeks):
- BG/NBD: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 (Fader, Hardie &
  Lee 2005, "Counting your customers the easy way", Marketing Science 24(2), section 4).
- Gamma-Gamma: p = 6.25, q = 3.74, gamma = 15.44 on the 946 customers with a repeat
  purchase (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value", section 3).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import btyd
from sample_data.cdnow import DEFAULT_CDNOW_DIR

SAMPLE = DEFAULT_CDNOW_DIR / "CDNOW_sample.txt"
CALIBRATION_END = pd.Timestamp("1997-09-30")  # end of week 39


def sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def calibration_summary() -> pd.DataFrame:
    """Purchase summary of the sample's calibration period in days, computed here in pandas
    (independently of the dbt model): purchases grouped per day."""
    raw = pd.read_csv(SAMPLE, sep=r"\s+", header=None,
                      names=["master_id", "customer", "date", "cds", "amount"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    days = (raw[raw["date"] <= CALIBRATION_END]
            .groupby(["customer", "date"], as_index=False)["amount"].sum())
    g = days.groupby("customer")
    first, last = g["date"].min(), g["date"].max()
    out = pd.DataFrame({
        "frequency": g.size() - 1,
        "recency": (last - first).dt.days,
        "T": (CALIBRATION_END - first).dt.days,
    })
    repeat = days[days["date"] > days["customer"].map(first)]
    out["monetary_value"] = repeat.groupby("customer")["amount"].mean().reindex(out.index)
    out["monetary_value"] = out["monetary_value"].fillna(0.0)
    return out


def in_weeks(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.assign(recency=summary["recency"] / 7, T=summary["T"] / 7)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return calibration_summary()


def test_summary_matches_the_literature_rows(summary):
    # customers 1, 2, 6 and 17 of the sample as tabulated (x, t_x, T in weeks) in the
    # data set that accompanies FHL 2005 (also shipped as lifetimes' cdnow_customers.csv)
    weeks = in_weeks(summary)
    expected = {1: (2, 30.43, 38.86), 2: (1, 1.71, 38.86), 6: (7, 29.43, 38.86),
                17: (10, 34.14, 38.86), 19: (3, 28.29, 38.71), 3: (0, 0.0, 38.86)}
    for customer, (x, t_x, T) in expected.items():
        row = weeks.loc[customer]
        assert (row["frequency"], round(row["recency"], 2), round(row["T"], 2)) == (x, t_x, T)
    assert len(summary) == 2357
    assert int((summary["frequency"] > 0).sum()) == 946


def test_bgnbd_reproduces_published_parameters(summary):
    params, diag = btyd.fit_bgnbd(in_weeks(summary))
    assert diag.converged
    assert (sig(params.r), sig(params.alpha), sig(params.a), sig(params.b)) == (
        0.243, 4.41, 0.793, 2.43)
    assert round(diag.log_likelihood, 1) == -9582.4


def test_bgnbd_in_days_is_the_same_model(summary):
    """Days instead of weeks: alpha scales by 7, r, a, b stay, and the log-likelihood moves
    by the Jacobian sum(x) * ln 7 (a rate per day is a seventh of a rate per week)."""
    weeks, _ = btyd.fit_bgnbd(in_weeks(summary))
    days, diag = btyd.fit_bgnbd(summary)
    assert days.alpha / 7 == pytest.approx(weeks.alpha, rel=1e-3)
    for name in ("r", "a", "b"):
        assert getattr(days, name) == pytest.approx(getattr(weeks, name), rel=1e-3)
    shifted = diag.log_likelihood + summary["frequency"].sum() * math.log(7)
    assert shifted == pytest.approx(-9582.43, abs=0.05)


def test_gamma_gamma_reproduces_published_parameters(summary):
    params, diag = btyd.fit_gamma_gamma(summary)
    assert diag.customers == 946
    assert (sig(params.p), sig(params.q), sig(params.gamma, 4)) == (6.25, 3.74, 15.44)


def simulate(params: btyd.BgNbdParams, n: int, T: float, t: float, seed: int) -> pd.DataFrame:
    """Draw customers from BG/NBD (first purchase at 0; after each purchase drop out with
    probability p); return the calibration summary, alive-at-T and holdout purchases."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    x = np.zeros(n)
    t_x = np.zeros(n)
    holdout = np.zeros(n)
    while alive.any():
        nxt = now + rng.exponential(1 / np.maximum(lam, 1e-12))
        buying = alive & (nxt <= T + t)
        cal = buying & (nxt <= T)
        x[cal] += 1
        t_x[cal] = nxt[cal]
        holdout[buying & ~cal] += 1
        now = np.where(buying, nxt, now)
        alive = buying & (rng.random(n) >= p)
    # alive at T: no dropout happened at or before T (a dropout follows a purchase <= T)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "holdout": holdout})


def test_predictions_agree_with_simulation():
    """Law of total probability: averaged over customers drawn from the model, predicted
    P(no purchase), expected purchases agree with what the simulated customers did."""
    params = btyd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    sim = simulate(params, n=60_000, T=39.0, t=39.0, seed=11)
    p_none = btyd.prob_no_purchase(params, sim, 39.0)
    expected = btyd.expected_purchases(params, sim, 39.0)
    assert p_none.mean() == pytest.approx((sim["holdout"] == 0).mean(), abs=0.006)
    assert expected.mean() == pytest.approx(sim["holdout"].mean(), rel=0.03)
    # within one-time buyers (x = 0, all with T = 39) the prediction is exact per group
    once = sim[sim["frequency"] == 0]
    predicted = btyd.prob_no_purchase(params, once, 39.0)
    assert predicted == pytest.approx(((4.414 + 39) / (4.414 + 78)) ** 0.243)
    assert predicted.mean() == pytest.approx((once["holdout"] == 0).mean(), abs=0.01)


def test_one_time_buyers_are_alive_and_may_still_buy():
    params = btyd.BgNbdParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    s = pd.DataFrame({"frequency": [0, 0, 3], "recency": [0, 0, 5], "T": [10, 40, 40]})
    assert btyd.p_alive(params, s)[:2] == pytest.approx([1.0, 1.0])
    p_buy = 1 - btyd.prob_no_purchase(params, s, 30)
    assert p_buy[0] > p_buy[1] > 0  # a longer silence lowers the rate, never to zero
    # three purchases in the first five of forty days: probably dead
    assert btyd.p_alive(params, s)[2] < 0.2
    # a horizon of zero buys nothing
    assert 1 - btyd.prob_no_purchase(params, s, 0) == pytest.approx([0, 0, 0])


def test_degenerate_fits_fail_loudly():
    nobody_repeats = pd.DataFrame({"frequency": [0, 0], "recency": [0, 0], "T": [5, 9]})
    with pytest.raises(btyd.FitError, match="repeat purchase"):
        btyd.fit_bgnbd(nobody_repeats)
    with pytest.raises(btyd.FitError, match="missing or infinite"):
        btyd.fit_bgnbd(pd.DataFrame({"frequency": [1, np.nan], "recency": [1, 0], "T": [5, 9]}))
    with pytest.raises(btyd.FitError, match="recency greater than T"):
        btyd.fit_bgnbd(pd.DataFrame({"frequency": [1, 2], "recency": [6, 1], "T": [5, 9]}))
    with pytest.raises(btyd.FitError, match="at least two"):
        btyd.fit_gamma_gamma(pd.DataFrame({"frequency": [0, 1], "monetary_value": [0, 5.0]}))


def test_scores_refuse_non_finite_output():
    params = btyd.BgNbdParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    gg = btyd.GammaGammaParams(p=6.0, q=3.7, gamma=15.0)
    s = pd.DataFrame({"frequency": [0, 2], "recency": [0, 4], "T": [10, 9],
                      "monetary_value": [0.0, 20.0]})
    with pytest.raises(btyd.FitError, match="non-finite"):  # an impossible b gives NaN
        btyd.score_customers(btyd.BgNbdParams(r=0.5, alpha=10.0, a=0.8, b=-3.0), gg, s, (30,))
    scores = btyd.score_customers(params, gg, s, (30, 90))
    assert set(scores.columns) >= {"p_alive", "expected_purchases_30d", "p_purchase_90d",
                                   "expected_average_value", "clv_90d"}
    # with no repeat purchase the expected value is the population mean p*gamma/(q-1)
    assert scores["expected_average_value"].iloc[0] == pytest.approx(6.0 * 15.0 / 2.7)
    assert (scores["expected_purchases_90d"] >= scores["expected_purchases_30d"]).all()


# Pareto/NBD: published on the same calibration data (weeks) by Fader, Hardie & Lee (2005,
# "RFM and CLV: using iso-value curves for customer base analysis", and the note "A note
# on implementing the Pareto/NBD model in MATLAB"): r = 0.5534, alpha = 10.5802,
# s = 0.6061, beta = 11.6562, LL = -9594.98.

def test_pareto_nbd_reproduces_published_parameters(summary):
    params, diag = btyd.fit_pareto_nbd(in_weeks(summary))
    assert diag.converged
    assert (round(params.r, 3), round(params.alpha, 2), round(params.s, 3),
            round(params.beta, 2)) == pytest.approx((0.553, 10.58, 0.606, 11.66), abs=0.011)
    assert diag.log_likelihood == pytest.approx(-9594.98, abs=0.05)


def test_pareto_nbd_likelihood_over_distinct_pairs_is_the_same(summary):
    """The fit evaluates A0's 2F1 terms once per distinct (x, t_x) and (x, T) pair: the
    same per-customer values as term by term, on both 2F1 branches (alpha >= beta and
    alpha < beta)."""
    x, t_x, T = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    pairs = (btyd.distinct_pairs(x, t_x), btyd.distinct_pairs(x, T))
    assert len(pairs[0][0]) + len(pairs[1][0]) < len(x)
    for params in (btyd.ParetoNbdParams(0.55, 74.0, 0.6, 81.0),
                   btyd.ParetoNbdParams(0.55, 90.0, 0.6, 60.0)):
        np.testing.assert_array_equal(
            btyd.pnbd_log_likelihood(params, x, t_x, T, pairs),
            btyd.pnbd_log_likelihood(params, x, t_x, T))


def test_pareto_nbd_probabilities_against_simulation():
    """Customers drawn from the Pareto/NBD itself: the model's P(no purchase in t) agrees
    with what happens to them after T, bin by bin."""
    rng = np.random.default_rng(3)
    n, T, t = 20_000, 40.0, 20.0
    lam = rng.gamma(0.8, 1 / 6.0, n)
    mu = rng.gamma(0.7, 1 / 12.0, n)
    death = rng.exponential(1 / mu)
    rows = []
    for i in range(n):
        times = np.cumsum(rng.exponential(1 / lam[i], 200))
        seen = times[(times < min(death[i], T))]
        future = times[(times >= T) & (times < min(death[i], T + t))]
        rows.append((len(seen), seen[-1] if len(seen) else 0.0, len(future) == 0))
    # time 0 is the first purchase: frequency counts the purchases after it, as in the model
    frame = pd.DataFrame(rows, columns=["frequency", "recency", "none_after"]).assign(T=T)
    params = btyd.ParetoNbdParams(0.8, 6.0, 0.7, 12.0)
    predicted = btyd.pnbd_prob_no_purchase(params, frame, t)
    assert np.all((predicted >= 0) & (predicted <= 1))
    bins = pd.qcut(predicted, 5, duplicates="drop")
    observed = frame.groupby(bins, observed=True)["none_after"].mean()
    expected = pd.Series(predicted).groupby(bins, observed=True).mean()
    assert np.abs(observed.to_numpy() - expected.to_numpy()).max() < 0.03
    # P(alive) falls with the time since the last purchase, for a given frequency
    three = frame[frame["frequency"] == 3].sort_values("recency")
    assert np.all(np.diff(btyd.pnbd_p_alive(params, three)) >= -1e-12)
