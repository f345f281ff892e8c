"""Degenerate data never fail scoring: each model falls back to its stated limit or a
simpler model and says so (models/value.py, models/churn.py)."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import churn
from models.value import population_mean_value, score_clv
from orchestration.config import parse_config
from orchestration.model_settings import churn_settings

CHURN = churn_settings(parse_config({}))  # the defaults, as production builds them
HORIZONS = {"short": 30, "long": 90}


def _summary(x: np.ndarray, m: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """A purchase summary with purchase times consistent with the frequencies."""
    rng = np.random.default_rng(seed)
    T = rng.integers(60, 365, size=len(x))
    recency = np.where(x > 0, (rng.random(len(x)) * T).astype(int), 0)
    return pd.DataFrame({"snapshot_date": dt.date(2025, 6, 30),
                         "user_id": [f"u{i:05d}" for i in range(len(x))],
                         "frequency": x, "recency": recency, "T": T,
                         "monetary_value": np.where(x > 0, m, 0.0)})


def _gamma_spend(n: int, seed: int) -> pd.DataFrame:
    """Spend drawn independently of the customer (one Gamma for everybody): the data of
    the issue, where Gamma-Gamma's q and gamma run to their bounds."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(1.0, n)
    m = np.array([rng.gamma(2.4, 40.0, k).mean() if k else 0.0 for k in x])
    return _summary(x, m, seed)


def test_spend_that_does_not_differ_between_customers_uses_the_population_mean():
    summary = _gamma_spend(400, seed=10)  # this draw runs gamma to its bound
    result = score_clv(summary, HORIZONS, min_repeat_buyers=20)
    runs = {r.model: r for r in result.runs}
    assert (runs["bgnbd"].status, runs["bgnbd"].method) == ("ok", "bgnbd")
    gg = runs["gamma_gamma"]
    assert (gg.status, gg.method) == ("degenerate", "population_mean")
    assert "ran to a bound" in gg.reason and "population mean" in gg.reason
    mean = population_mean_value(summary)
    # sum(x m) / sum(x) over the repeat customers, computed here by hand
    repeat = summary[summary["frequency"] > 0]
    assert mean == pytest.approx((repeat["frequency"] * repeat["monetary_value"]).sum()
                                 / repeat["frequency"].sum())
    scores = result.scores
    assert len(scores) == 400 and (scores["value_method"] == "population_mean").all()
    assert np.allclose(scores["expected_average_value"], mean)
    assert np.allclose(scores["clv_long"], scores["expected_purchases_long"] * mean)


def test_identical_spend_is_the_limit_not_an_error():
    x = np.random.default_rng(3).poisson(1.2, 300)
    result = score_clv(_summary(x, np.full(300, 25.0)), HORIZONS, min_repeat_buyers=20)
    gg = {r.model: r for r in result.runs}["gamma_gamma"]
    assert gg.status == "degenerate" and gg.params == {"population_mean": 25.0}
    assert np.allclose(result.scores["expected_average_value"], 25.0)


def test_identifiable_spend_keeps_gamma_gamma():
    rng = np.random.default_rng(5)
    x = rng.poisson(1.5, 600)
    m = rng.gamma(3.0, 1.0, 600) * rng.lognormal(3, 0.8, 600)  # customers differ
    result = score_clv(_summary(x, m), HORIZONS, min_repeat_buyers=20)
    assert [(r.model, r.status, r.method) for r in result.runs] == [
        ("bgnbd", "ok", "bgnbd"), ("gamma_gamma", "ok", "gamma_gamma")]
    assert (result.scores["value_method"] == "gamma_gamma").all()


def test_nobody_repeats_skips_with_a_reason_and_typed_columns():
    result = score_clv(_summary(np.zeros(50, int), np.zeros(50)), HORIZONS, 20)
    assert result.scores.empty and "value_method" in result.scores.columns
    assert all(r.status == "skipped" and "0 repeat buyers" in r.reason for r in result.runs)


def test_column_order_is_the_same_for_both_spend_methods():
    degenerate = score_clv(_gamma_spend(400, seed=10), HORIZONS, 20).scores
    fitted = score_clv(_summary(*_spread(600)), HORIZONS, 20).scores
    empty = score_clv(_summary(np.zeros(5, int), np.zeros(5)), HORIZONS, 20).scores
    assert list(degenerate.columns) == list(fitted.columns) == list(empty.columns)


def _spread(n: int):
    rng = np.random.default_rng(5)
    return rng.poisson(1.5, n), rng.gamma(3.0, 1.0, n) * rng.lognormal(3, 0.8, n)


def _features(churned, recency=None, days: int = 10, users: int = 30) -> pd.DataFrame:
    """Feature rows on `days` weekly feature days; the last is the scoring day."""
    snapshot = dt.date(2025, 6, 30)
    rows = []
    for k in range(days):
        day = snapshot - dt.timedelta(days=7 * (days - 1 - k))
        for u in range(users):
            labelled = day + dt.timedelta(days=14) <= snapshot
            rows.append({
                "feature_date": day, "user_id": f"u{u}",
                "recency_days": (u % 20) if recency is None else recency,
                "tenure_days": 50, "active_days_cur": 5, "engagement_cur": 5,
                "engagement_prev": 5, "visits_cur": 3, "revenue_cur": 0.0,
                "revenue_lookback": 0.0, "tier": "mid", "channel": "organic",
                "is_scoring_day": day == snapshot,
                "is_churned": (churned(u) if callable(churned) else churned) if labelled else None,
            })
    return pd.DataFrame(rows)


@pytest.mark.parametrize("everyone_churns", [True, False])
def test_one_label_class_scores_with_the_base_rate(everyone_churns):
    run, scored = churn.supervised_churn(_features(everyone_churns), 14, 50, 30)
    assert (run.status, run.scored_with) == ("fallback", "base_rate")
    assert "one label class" in run.message and "base rate" in run.message
    p = scored["churn_probability"]
    assert len(p) == 30 and p.nunique() == 1 and 0 < p.iloc[0] < 1
    assert (p.iloc[0] > 0.9) if everyone_churns else (p.iloc[0] < 0.1)


def test_constant_features_score_with_the_base_rate():
    f = _features(lambda u: u % 3 == 0, recency=4)
    f["user_id"] = "same"  # nothing tells the rows apart
    run, scored = churn.supervised_churn(f, 14, 50, 30)
    assert run.scored_with == "base_rate" and "constant" in run.message
    assert scored["churn_probability"].between(0, 1).all()


def test_informative_features_train_the_classifier():
    run, scored = churn.supervised_churn(_features(lambda u: u % 20 > 10), 14, 50, 30)
    assert (run.status, run.scored_with) == ("ok", "supervised")
    assert run.model_auc is not None and run.model_auc > 0.9


def test_orders_without_btyd_scores_fall_back_to_recency():
    rng = np.random.default_rng(2)
    n = 200
    idle = rng.integers(0, 200, n)
    calibration = pd.DataFrame({
        "calibration_end": dt.date(2025, 3, 31), "user_id": [f"u{i}" for i in range(n)],
        "frequency": 0, "recency": 0, "T": idle,
        # the longer idle, the likelier no purchase in the holdout
        "holdout_purchase_days": (rng.random(n) > idle / 200).astype(int)})
    current = pd.DataFrame({"user_id": calibration["user_id"], "recency": 0, "T": idle + 30})
    clv = pd.DataFrame({"user_id": pd.Series(dtype=str),
                        "p_purchase_short": pd.Series(dtype=float)})
    run, scores = churn.score_buyers(calibration, current, clv,
                                     dataclasses.replace(CHURN, holdout_days=30))
    assert (run.status, run.scored_with) == ("fallback", "recency")
    assert "repeat purchase" in run.message  # the BG/NBD evaluation's own reason
    assert run.test_day == dt.date(2025, 3, 31)
    assert (scores["method"] == "recency").all()
    # monotone: more days since the last purchase, likelier churn
    ordered = scores.sort_values("recency_days")["churn_probability"].to_numpy()
    assert np.all(np.diff(ordered) >= -1e-12) and ordered[-1] > ordered[0]


def _random_case(seed: int, users: int, days: int, spend: str):
    """A random small business: orders-only summaries and event-style feature rows."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(rng.uniform(0.01, 3.0), users)
    draw = {
        "same": lambda k: np.full(k, 19.99),
        "gamma": lambda k: rng.gamma(2.0, 20.0, k),
        "lognormal": lambda k: rng.lognormal(3.0, 1.5, k),
        "zero": lambda k: np.zeros(k),
        "heavy": lambda k: rng.pareto(1.1, k) * 10,
    }[spend]
    m = np.array([draw(k).mean() if k else 0.0 for k in x])
    T = rng.integers(1, days + 1, users)
    recency = np.where(x > 0, (rng.random(users) * T).astype(int), 0)
    summary = pd.DataFrame({"snapshot_date": dt.date(2025, 1, 1) + dt.timedelta(days=days),
                            "user_id": [f"u{i}" for i in range(users)], "frequency": x,
                            "recency": recency, "T": T, "monetary_value": m})
    holdout = summary.assign(calibration_end=dt.date(2025, 1, 1),
                             holdout_purchase_days=rng.poisson(rng.uniform(0, 1), users))
    churn_share = rng.uniform(0, 1)
    feats = _features(lambda u: rng.random() < churn_share,
                      days=max(2, days // 7), users=max(1, users // 4))
    feats["recency_days"] = rng.integers(0, max(1, days), len(feats))
    return summary, holdout, feats


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), users=st.integers(1, 120), days=st.integers(1, 200),
       spend=st.sampled_from(["same", "gamma", "lognormal", "zero", "heavy"]))
def test_scoring_never_raises_and_probabilities_are_probabilities(seed, users, days, spend):
    summary, holdout, feats = _random_case(seed, users, days, spend)
    result = score_clv(summary, HORIZONS, min_repeat_buyers=2)
    scores = result.scores
    numeric = scores.select_dtypes("number").to_numpy(dtype=float)
    assert np.all(np.isfinite(numeric))
    for col in ("p_alive", "p_purchase_short", "p_purchase_long"):
        assert scores[col].between(0, 1).all(), col
    s = dataclasses.replace(CHURN, horizon_days=14, min_training_rows=10, holdout_days=30)
    clv = scores[["user_id", "p_purchase_short"]]
    for run, churn_scores in (
        churn.score_buyers(holdout, summary[["user_id", "recency", "T"]], clv, s),
        churn.score_event_users(feats, s),
    ):
        p = churn_scores["churn_probability"].to_numpy(dtype=float)
        assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1)), run
        assert run.scored_with in churn.SCORING_METHODS
        assert run.status in ("ok", "fallback", "insufficient_history")
