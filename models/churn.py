"""Churn scoring (METRICS.md, "Churn scoring") and the win-back list.

Supervised (event data): rows are (feature day, user) with features known on that day and
the label "no activity in the next horizon days". The split is by time only: the test day
is the latest feature day whose label is complete; training uses the feature days whose
label windows ended by the test day, so nothing of the test period leaks into training.
Nothing is tuned: the classifier runs with fixed settings.

Probabilistic (orders-only data): the probability of no purchase in the horizon from a
BG/NBD fit; evaluated by fitting on a calibration period and checking the holdout.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from models import btyd

log = logging.getLogger(__name__)

NUMERIC_FEATURES = [
    "recency_days", "tenure_days", "active_days_cur", "engagement_cur", "engagement_prev",
    "visits_cur", "revenue_cur", "revenue_lookback",
]
CATEGORICAL_FEATURES = ["tier", "channel"]
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


@dataclass
class ChurnRun:
    """One evaluation of the churn model, published as a row of churn_model_runs."""

    method: str
    status: str  # ok | insufficient_history
    message: str = ""
    test_day: object = None
    train_first_day: object = None
    train_last_day: object = None
    train_rows: int = 0
    test_rows: int = 0
    test_churn_rate: float | None = None
    model_auc: float | None = None
    baseline_auc: float | None = None
    details: dict[str, float] = field(default_factory=dict)

    def as_row(self) -> dict[str, object]:
        row = asdict(self)
        row.pop("details")
        return row


def _classifier():
    # scikit-learn takes over a second to import: only when a model is trained
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer([
        ("numeric", "passthrough", NUMERIC_FEATURES),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         CATEGORICAL_FEATURES),
    ])
    # fixed settings, no early stopping: it would draw a random validation split
    model = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.05, max_leaf_nodes=15, early_stopping=False,
        random_state=0,
    )
    return Pipeline([("encode", encode), ("model", model)])


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else None


def time_split(features: pd.DataFrame, horizon_days: int):
    """(train, test, test_day): test = the latest labelled feature day; train = labelled
    feature days whose label window [day + 1, day + horizon] ended by the test day."""
    labelled = features[features["is_churned"].notna()]
    if labelled.empty:
        return labelled, labelled, None
    days = pd.to_datetime(labelled["feature_date"])
    test_day = days.max()
    train = labelled[days + pd.Timedelta(days=horizon_days) <= test_day]
    test = labelled[days == test_day]
    return train, test, test_day.date()


def risk_band(p_churn: pd.Series, recency_days: pd.Series, churn_days: int,
              medium_min: float, high_min: float) -> pd.Series:
    """churned when inactive churn_days or longer; else high / medium / low by probability."""
    band = np.select([p_churn >= high_min, p_churn >= medium_min], ["high", "medium"], "low")
    band = np.where(recency_days >= churn_days, "churned", band)
    return pd.Series(band, index=p_churn.index, dtype="str")


def supervised_churn(
    features: pd.DataFrame, horizon_days: int, min_training_rows: int, churn_days: int
) -> tuple[ChurnRun, pd.DataFrame]:
    """Evaluate on the time split, then refit on every labelled row and score the scoring
    day's users. Returns the run record and per-user scores (empty when history is short).
    AUCs are on users active on the test day (recency below churn_days): the lapsed users
    in the population would flatter any score."""
    train, test, test_day = time_split(features, horizon_days)
    run = ChurnRun(method="supervised", status="insufficient_history", test_day=test_day,
                   train_rows=len(train), test_rows=len(test))
    scoring = features[features["is_scoring_day"]]
    y_train = train["is_churned"].astype(bool).to_numpy() if len(train) else np.array([])
    if len(train) < min_training_rows or len(np.unique(y_train)) < 2 or test.empty:
        run.message = (
            f"{len(train)} training rows (need {min_training_rows}, both outcomes) before "
            f"a labelled test day; history must span at least 2 x {horizon_days} days"
        )
        log.warning("churn model not trained: %s", run.message)
        return run, scoring.iloc[0:0].assign(churn_probability=pd.Series(dtype=float))
    train_days = pd.to_datetime(train["feature_date"])
    run.train_first_day, run.train_last_day = train_days.min().date(), train_days.max().date()

    model = _classifier().fit(train[FEATURES], y_train)
    active = test[test["recency_days"] < churn_days]
    y_test = active["is_churned"].astype(bool).to_numpy()
    predicted = model.predict_proba(active[FEATURES])[:, 1]
    run.model_auc = _auc(y_test, predicted)
    run.baseline_auc = _auc(y_test, active["recency_days"].to_numpy(dtype=float))
    run.test_rows = len(active)
    run.test_churn_rate = float(y_test.mean()) if len(y_test) else None
    run.status = "ok"
    run.message = "trained on earlier feature days, tested on the latest labelled one"

    labelled = features[features["is_churned"].notna()]
    final = _classifier().fit(labelled[FEATURES],
                              labelled["is_churned"].astype(bool).to_numpy())
    scored = scoring.copy()
    scored["churn_probability"] = final.predict_proba(
        scoring[FEATURES])[:, 1] if len(scoring) else []
    log.info("churn model: AUC %s vs recency baseline %s on %d users of %s",
             run.model_auc, run.baseline_auc, run.test_rows, test_day)
    return run, scored


def btyd_holdout_evaluation(calibration: pd.DataFrame, holdout_days: int) -> ChurnRun:
    """Fit BG/NBD on the calibration summary (frequency, recency, T, holdout_purchase_days)
    and score P(no purchase in the holdout) against what happened; the baseline is the
    days since the last purchase at the end of calibration."""
    run = ChurnRun(method="bgnbd", status="insufficient_history", test_rows=len(calibration))
    if calibration.empty or not (calibration["frequency"] > 0).any():
        run.message = f"no repeat purchases before the last {holdout_days} days"
        return run
    params, diag = btyd.fit_bgnbd(calibration)
    p_none = btyd.prob_no_purchase(params, calibration, holdout_days)
    churned = (calibration["holdout_purchase_days"] == 0).to_numpy()
    run.model_auc = _auc(churned, p_none)
    run.baseline_auc = _auc(churned, (calibration["T"] - calibration["recency"]).to_numpy())
    run.test_churn_rate = float(churned.mean())
    run.train_rows = len(calibration)
    run.status = "ok"
    run.message = f"BG/NBD fitted before the last {holdout_days} days, tested on them"
    run.details = {**diag.params, "log_likelihood": diag.log_likelihood}
    return run


def winback_list(candidates: pd.DataFrame, min_probability: float = 0.0) -> pd.DataFrame:
    """Rank churned and high-risk users by value x probability of return.

    `candidates` has user_id, risk_band, value, p_return; ties go to the likelier return.
    """
    pool = candidates[candidates["risk_band"].isin(["churned", "high"])
                      & (candidates["p_return"] >= min_probability)].copy()
    pool["priority"] = pool["value"].clip(lower=0) * pool["p_return"]
    pool = pool.sort_values(["priority", "p_return", "user_id"],
                            ascending=[False, False, True], kind="mergesort")
    pool["winback_rank"] = np.arange(1, len(pool) + 1)
    return pool.reset_index(drop=True)
