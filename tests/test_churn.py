"""Pure churn functions: the time split, risk bands, the win-back ranking."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models import churn
from orchestration.config import parse_config
from orchestration.model_settings import churn_settings

CHURN = churn_settings(parse_config({}))  # the defaults, as production builds them


def _features(days: list[dt.date], users: int, snapshot: dt.date, horizon: int, seed: int = 0):
    """Synthetic rows where churn depends on recency, labelled only when observable."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in days:
        for u in range(users):
            recency = int(rng.integers(0, 40))
            churned = rng.random() < min(0.95, 0.05 + recency / 40)
            rows.append({
                "feature_date": d, "user_id": f"u{u}", "recency_days": recency,
                "tenure_days": int(rng.integers(1, 200)), "active_days_cur": 28 - recency % 28,
                "engagement_cur": int(rng.integers(0, 20)), "engagement_prev": 5,
                "visits_cur": 3, "revenue_cur": 0.0, "revenue_lookback": 0.0,
                "tier": "mid", "channel": "organic" if u % 2 else "ads",
                "is_scoring_day": d == snapshot,
                "is_churned": churned if d + dt.timedelta(days=horizon) <= snapshot else None,
            })
    return pd.DataFrame(rows)


def test_time_split_never_lets_training_labels_reach_the_test_day():
    snapshot = dt.date(2025, 3, 31)
    days = [snapshot - dt.timedelta(days=7 * k) for k in range(12)][::-1]
    f = _features(days, 30, snapshot, horizon=14)
    train, test, test_day = churn.time_split(f, 14)
    assert test_day == max(d for d in days if d + dt.timedelta(days=14) <= snapshot)
    assert set(test["feature_date"]) == {test_day}
    assert max(train["feature_date"]) + dt.timedelta(days=14) <= test_day
    assert train["is_churned"].notna().all() and len(train) > 0


def test_supervised_churn_reports_both_aucs_and_scores_the_snapshot_day():
    snapshot = dt.date(2025, 3, 31)
    days = [snapshot - dt.timedelta(days=7 * k) for k in range(12)][::-1]
    f = _features(days, 60, snapshot, horizon=14)
    run, scored = churn.supervised_churn(f, 14, min_training_rows=100, churn_days=30)
    assert run.status == "ok"
    assert run.model_auc is not None and run.baseline_auc is not None
    assert run.model_auc > 0.6  # recency drives churn here; the model must find it
    assert len(scored) == 60 and scored["churn_probability"].between(0, 1).all()


def test_a_large_training_set_is_sampled_the_same_way_every_time():
    snapshot = dt.date(2025, 3, 31)
    days = [snapshot - dt.timedelta(days=7 * k) for k in range(12)][::-1]
    f = _features(days, 60, snapshot, horizon=14)
    labelled = f[f["is_churned"].notna()]
    sample = churn.training_sample(labelled, 200)
    assert len(sample) == 200 and sample.index.isin(labelled.index).all()
    assert sample.index.equals(churn.training_sample(labelled, 200).index)  # fixed seed
    assert churn.training_sample(labelled, len(labelled)) is labelled  # small: untouched
    run, scored = churn.supervised_churn(f, 14, min_training_rows=100, churn_days=30,
                                         max_training_rows=200)
    assert run.status == "ok" and "sample of 200 of" in run.message
    assert run.train_rows > 200  # the rows available, as before
    assert len(scored) == 60 and scored["churn_probability"].between(0, 1).all()


def test_too_little_history_is_reported_not_raised():
    snapshot = dt.date(2025, 1, 20)
    f = _features([snapshot - dt.timedelta(days=7), snapshot], 20, snapshot, horizon=30)
    run, scored = churn.supervised_churn(f, 30, min_training_rows=100, churn_days=30)
    assert run.status == "insufficient_history" and "2 x 30 days" in run.message
    assert scored.empty and "churn_probability" in scored.columns


def test_risk_bands_inclusive_and_churned_first():
    p = pd.Series([0.1, 0.3, 0.59, 0.6, 0.2])
    recency = pd.Series([0, 3, 10, 29, 30])
    assert churn.risk_band(p, recency, 30, 0.3, 0.6).tolist() == [
        "low", "medium", "medium", "high", "churned"]


def test_winback_ranks_value_times_return():
    c = pd.DataFrame({
        "user_id": ["a", "b", "c", "d", "e"],
        "risk_band": ["churned", "high", "high", "low", "churned"],
        "value": [100.0, 50.0, 50.0, 999.0, -5.0],
        "p_return": [0.1, 0.4, 0.2, 0.9, 0.8],
    })
    wb = churn.winback_list(c)
    # b: 20, a: 10 and c: 10 tie on priority (c returns likelier), e: negative value = 0
    assert wb["user_id"].tolist() == ["b", "c", "a", "e"]
    assert wb["winback_rank"].tolist() == [1, 2, 3, 4]
    assert "d" not in set(wb["user_id"])  # low risk is not a win-back case
    assert churn.winback_list(c, min_probability=0.3)["user_id"].tolist() == ["b", "e"]


def test_training_is_deterministic_so_a_kept_model_scores_as_a_retrain_would():
    snapshot = dt.date(2025, 3, 31)
    days = [snapshot - dt.timedelta(days=7 * k) for k in range(12)][::-1]
    f = _features(days, 60, snapshot, horizon=14)
    labelled, scoring = f[f["is_churned"].notna()], f[f["is_scoring_day"]]
    s = dataclasses.replace(CHURN, horizon_days=14, max_training_rows=300)
    (run_a, model_a), (run_b, model_b) = (churn.train_event_model(labelled, s) for _ in "ab")
    assert run_a == run_b and run_a.status == "ok"
    a, b = (churn.event_scores(r, m, scoring, s) for r, m in ((run_a, model_a), (run_b, model_b)))
    pd.testing.assert_frame_equal(a, b)
    assert churn.event_scores(run_a, None, scoring, s).empty  # no model: no scores


def test_recency_model_fitted_on_counted_pairs_equals_the_row_fit():
    """The recency model fits each distinct (recency, label) pair weighted by its count:
    the same maximum-likelihood line as a logistic regression over every row."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    days = rng.integers(0, 60, size=20_000)
    churned = rng.random(20_000) < 1 / (1 + np.exp(-(np.log1p(days) - 2.5) * 1.7))
    model = churn.fit_recency_model(days, churned)
    rows = LogisticRegression(C=1e6).fit(np.log1p(days).reshape(-1, 1), churned)
    assert model.method == "recency"
    assert model.intercept == pytest.approx(float(rows.intercept_[0]), rel=1e-3)
    assert model.slope == pytest.approx(float(rows.coef_[0, 0]), rel=1e-3)
    assert model.slope == pytest.approx(1.7, abs=0.15)  # and it finds the true line
