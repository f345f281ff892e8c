"""Churn scoring (docs/METRICS.md, "Churn scoring") and the win-back list.

Supervised (event data): rows are (feature day, user) with features known on that day and
the label "no activity in the next horizon days". The split is by time only: the test day
is the latest feature day whose label is complete; training uses the feature days whose
label windows ended by the test day, so nothing of the test period leaks into training.
Nothing is tuned: the classifier runs with fixed settings.

Probabilistic (orders-only data): the probability of no purchase in the horizon from a
BG/NBD fit; evaluated by fitting on a calibration period and checking the holdout.

Degenerate data never fail a run: a single label class, constant features or a BG/NBD fit
that the data do not identify fall back to a stated simpler model (recency alone, or the
base rate), and the run record says which model scored the users and why.
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
# What train_supervised reads of a labelled row. Bump TRAINING_VERSION when the training
# code changes what it fits from the same rows: kept models are keyed by both.
TRAINING_COLUMNS = ["feature_date", "user_id", *FEATURES, "is_churned"]
TRAINING_VERSION = 1


@dataclass
class ChurnRun:
    """One evaluation of the churn model, published as a row of churn_model_runs."""

    method: str  # the model this run was for: supervised | bgnbd
    status: str  # ok | fallback | insufficient_history
    message: str = ""
    scored_with: str = "none"  # what produced the published probabilities (SCORING_METHODS)
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


# What can produce a published churn probability, best first.
SCORING_METHODS = ("supervised", "bgnbd", "recency", "base_rate", "none")


def base_rate(y: np.ndarray) -> float:
    """The churn rate with half a pseudo-count each way, so one class never gives 0 or 1."""
    return (float(np.sum(y)) + 0.5) / (len(y) + 1.0)


@dataclass(frozen=True)
class RecencyModel:
    """P(churn) from days since last activity alone: a logistic regression on
    log(1 + recency days), or the base rate when the labels have one class or recency
    does not vary. The fallback when a richer model cannot be fitted."""

    method: str  # recency | base_rate
    intercept: float
    slope: float = 0.0

    def predict(self, recency_days: np.ndarray) -> np.ndarray:
        z = self.intercept + self.slope * np.log1p(np.asarray(recency_days, dtype=float))
        return 1.0 / (1.0 + np.exp(-z))


def fit_recency_model(recency_days: np.ndarray, churned: np.ndarray) -> RecencyModel:
    y = np.asarray(churned, dtype=bool)
    x = np.log1p(np.asarray(recency_days, dtype=float))
    if len(y) == 0:
        raise ValueError("a recency model needs at least one labelled user")
    rate = base_rate(y)
    if len(np.unique(y)) < 2 or np.ptp(x) == 0:
        return RecencyModel("base_rate", float(np.log(rate / (1 - rate))))
    from sklearn.linear_model import LogisticRegression

    # rows with the same (recency, label) share a loss term: fit each pair once, weighted
    # by its count (the same objective; hundreds of pairs instead of 100k+ rows)
    pairs = pd.DataFrame({"x": x, "y": y}).value_counts(sort=False).reset_index()
    fit = LogisticRegression(C=1e6).fit(pairs[["x"]].to_numpy(), pairs["y"].to_numpy(),
                                        sample_weight=pairs["count"].to_numpy())
    return RecencyModel("recency", float(fit.intercept_[0]), float(fit.coef_[0, 0]))


def degenerate_reason(x: pd.DataFrame, y: np.ndarray) -> str | None:
    """Why a classifier cannot learn from these rows, or None when it can."""
    if len(np.unique(y)) < 2:
        outcome = "churned" if bool(y[0]) else "stayed"
        return f"every one of the {len(y)} training rows {outcome}: one label class"
    if all(x[c].nunique(dropna=False) <= 1 for c in x.columns):
        return "every feature is constant over the training rows"
    return None


def make_classifier(numeric: list[str] = NUMERIC_FEATURES,
                    categorical: list[str] = CATEGORICAL_FEATURES):
    """Gradient boosting with fixed settings on these columns (categorical one-hot)."""
    # scikit-learn takes over a second to import: only when a model is trained
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer([
        ("numeric", "passthrough", numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         categorical),
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


def training_sample(rows: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    """At most max_rows of the training rows, drawn with a fixed seed (the same rows on a
    rerun). Gradient boosting's fit grows with the rows; a few hundred thousand users'
    snapshots teach it as much as millions (100 M events: 6 M labelled rows, two fits of
    minutes each), so the cost stays bounded as history and users grow."""
    if max_rows is None or len(rows) <= max_rows:
        return rows
    return rows.sample(n=max_rows, random_state=0).sort_index()


def train_supervised(
    labelled: pd.DataFrame, horizon_days: int, min_training_rows: int, churn_days: int,
    max_training_rows: int | None = None,
) -> tuple[ChurnRun, object | None]:
    """Evaluate on the time split, then refit on every labelled row (feature days with a
    complete label). Returns the run record and the fitted model (a scikit-learn pipeline,
    or the RecencyModel fallback), or None when history is too short. AUCs are on users
    active on the test day (recency below churn_days): the lapsed users in the population
    would flatter any score. When the training rows cannot teach a classifier (one label
    class, constant features), recency alone or the base rate is the model instead, and
    the run says so (status fallback). The result depends on the labelled rows and the
    arguments only, so it can be kept and reused while they stay the same."""
    train, test, test_day = time_split(labelled, horizon_days)
    run = ChurnRun(method="supervised", status="insufficient_history", test_day=test_day,
                   train_rows=len(train), test_rows=len(test))
    if len(train) < min_training_rows or test.empty:
        run.message = (
            f"{len(train)} training rows (need {min_training_rows}) before "
            f"a labelled test day; history must span at least 2 x {horizon_days} days"
        )
        log.warning("churn model not trained: %s", run.message)
        return run, None
    train_days = pd.to_datetime(train["feature_date"])
    run.train_first_day, run.train_last_day = train_days.min().date(), train_days.max().date()
    available = len(train)
    train = training_sample(train, max_training_rows)
    y_train = train["is_churned"].astype(bool).to_numpy()

    active = test[test["recency_days"] < churn_days]
    y_test = active["is_churned"].astype(bool).to_numpy()
    run.test_rows = len(active)
    run.test_churn_rate = float(y_test.mean()) if len(y_test) else None
    run.baseline_auc = _auc(y_test, active["recency_days"].to_numpy(dtype=float))

    everything = training_sample(labelled[labelled["is_churned"].notna()], max_training_rows)
    y_all = everything["is_churned"].astype(bool).to_numpy()
    reason = degenerate_reason(train[FEATURES], y_train) or degenerate_reason(
        everything[FEATURES], y_all)
    final: object
    if reason is None:
        model = make_classifier().fit(train[FEATURES], y_train)
        run.model_auc = _auc(y_test, predict_churn(model, active) if len(active)
                             else np.array([]))
        final = make_classifier().fit(everything[FEATURES], y_all)
        run.status, run.scored_with = "ok", "supervised"
        run.message = "trained on earlier feature days, tested on the latest labelled one"
    else:
        evaluated = fit_recency_model(train["recency_days"].to_numpy(), y_train)
        run.model_auc = _auc(y_test, predict_churn(evaluated, active))
        final = fit_recency_model(everything["recency_days"].to_numpy(), y_all)
        run.status, run.scored_with = "fallback", final.method
        run.message = f"{reason}; scored with {_describe(final)}"
        run.details = {"fallback_intercept": final.intercept, "fallback_slope": final.slope}
        log.warning("churn model fell back: %s", run.message)
    if len(train) < available:
        run.message += f" (fitted on a fixed-seed sample of {len(train):,} of {available:,} rows)"
    log.info("churn model (%s): AUC %s vs recency baseline %s on %d users of %s",
             run.scored_with, run.model_auc, run.baseline_auc, run.test_rows, test_day)
    return run, final


def predict_churn(model: object, rows: pd.DataFrame) -> np.ndarray:
    """P(churn) of each row from a model that train_supervised returned."""
    if isinstance(model, RecencyModel):
        return model.predict(rows["recency_days"].to_numpy())
    if rows.empty:
        return np.array([], dtype=float)
    return model.predict_proba(rows[FEATURES])[:, 1]


def supervised_churn(
    features: pd.DataFrame, horizon_days: int, min_training_rows: int, churn_days: int,
    max_training_rows: int | None = None,
) -> tuple[ChurnRun, pd.DataFrame]:
    """train_supervised on the labelled rows, then score the scoring day's users. Returns
    the run record and per-user scores (empty when history is short)."""
    run, model = train_supervised(features[features["is_churned"].notna()], horizon_days,
                                  min_training_rows, churn_days, max_training_rows)
    return run, score_scoring_rows(model, features[features["is_scoring_day"]])


def score_scoring_rows(model: object | None, scoring: pd.DataFrame) -> pd.DataFrame:
    """The scoring day's rows with their churn_probability (none without a model)."""
    if model is None:
        return scoring.iloc[0:0].assign(churn_probability=pd.Series(dtype=float))
    return scoring.assign(churn_probability=predict_churn(model, scoring))


def _describe(model: RecencyModel) -> str:
    if model.method == "base_rate":
        return f"the base rate {1 / (1 + np.exp(-model.intercept)):.3f} for every user"
    return "days since last activity alone (logistic)"


def btyd_holdout_evaluation(calibration: pd.DataFrame, holdout_days: int) -> ChurnRun:
    """Fit BG/NBD on the calibration summary (frequency, recency, T, holdout_purchase_days)
    and score P(no purchase in the holdout) against what happened; the baseline is the
    days since the last purchase at the end of calibration. A fit the data do not identify
    is evaluated as the recency fallback instead (status fallback, the reason kept)."""
    run = ChurnRun(method="bgnbd", status="insufficient_history", test_rows=len(calibration))
    if calibration.empty:
        run.message = f"no purchases before the last {holdout_days} days"
        return run
    churned = (calibration["holdout_purchase_days"] == 0).to_numpy()
    idle = (calibration["T"] - calibration["recency"]).to_numpy(dtype=float)
    run.baseline_auc = _auc(churned, idle)
    run.test_churn_rate = float(churned.mean())
    run.train_rows = len(calibration)
    try:
        params, diag = btyd.fit_bgnbd(calibration)
        p_none = btyd.prob_no_purchase(params, calibration, holdout_days)
        if not np.all(np.isfinite(p_none)) or np.any((p_none < 0) | (p_none > 1)):
            raise btyd.FitError("BG/NBD gave probabilities outside [0, 1]")
    except btyd.FitError as exc:
        fallback = fit_recency_model(idle, churned)
        run.model_auc = _auc(churned, fallback.predict(idle))
        run.status, run.scored_with = "fallback", fallback.method
        run.message = f"{exc}; evaluated {_describe(fallback)} instead"
        run.details = {"fallback_intercept": fallback.intercept, "fallback_slope": fallback.slope}
        log.warning("BG/NBD churn evaluation fell back: %s", run.message)
        return run
    run.model_auc = _auc(churned, p_none)
    run.status, run.scored_with = "ok", "bgnbd"
    run.message = f"BG/NBD fitted before the last {holdout_days} days, tested on them"
    run.details = {**diag.params, "log_likelihood": diag.log_likelihood}
    return run


def orders_churn_scores(
    calibration: pd.DataFrame, current: pd.DataFrame, clv: pd.DataFrame, holdout_days: int
) -> tuple[ChurnRun, pd.DataFrame]:
    """Churn probabilities for orders-only data.

    `current` is the purchase summary as of the snapshot (user_id, recency, T); `clv` the
    published BTYD scores (user_id, p_purchase_short), empty when BG/NBD was not fitted.
    With BTYD scores: churn = 1 - P(purchase in the horizon). Without them: the recency
    model learnt on the calibration/holdout split (label: no purchase in the holdout),
    applied to the days since each buyer's last purchase. Returns the run and scores
    (user_id, recency_days, churn_probability, method)."""
    run = btyd_holdout_evaluation(calibration, holdout_days)
    recency_days = (current["T"] - current["recency"]).astype("int64")
    if len(clv):
        scores = pd.DataFrame({
            "user_id": clv["user_id"].to_numpy(),
            "churn_probability": 1.0 - clv["p_purchase_short"].to_numpy(dtype=float),
        }).merge(pd.DataFrame({"user_id": current["user_id"], "recency_days": recency_days}),
                 on="user_id", how="left", validate="one_to_one")
        if run.status == "fallback":  # the evaluation fell back, the snapshot fit did not
            run.message += "; the snapshot's BG/NBD fit scored the users"
            run.status = "ok"
        run.scored_with = "bgnbd"
        scores["method"] = "bgnbd"
        return run, scores[["user_id", "recency_days", "churn_probability", "method"]]
    if calibration.empty:
        run.scored_with = "none"
        return run, pd.DataFrame({
            "user_id": pd.Series(dtype="str"), "recency_days": pd.Series(dtype="int64"),
            "churn_probability": pd.Series(dtype="float64"), "method": pd.Series(dtype="str")})
    idle = (calibration["T"] - calibration["recency"]).to_numpy(dtype=float)
    model = fit_recency_model(idle, (calibration["holdout_purchase_days"] == 0).to_numpy())
    scores = pd.DataFrame({
        "user_id": current["user_id"].to_numpy(),
        "recency_days": recency_days.to_numpy(),
        "churn_probability": model.predict(recency_days.to_numpy()),
        "method": model.method,
    })
    reason = "no BG/NBD scores at the snapshot" if run.status == "ok" else run.message
    run.status, run.scored_with = "fallback", model.method
    run.message = (f"{reason}; scored with {_describe(model)}, learnt on the last "
                   f"{holdout_days} days (its horizon)")
    run.details = {**run.details, "fallback_intercept": model.intercept,
                   "fallback_slope": model.slope}
    return run, scores


@dataclass(frozen=True)
class ChurnSettings:
    """The configuration churn scoring needs (userops.yaml: churn, lifecycle)."""

    horizon_days: int
    min_training_rows: int
    churn_days: int
    medium_risk_min: float
    high_risk_min: float
    holdout_days: int
    max_training_rows: int | None


SCORE_COLUMNS = ("user_id", "recency_days", "tier", "channel", "churn_probability", "method",
                 "risk_band")


def _with_bands(scores: pd.DataFrame, s: ChurnSettings) -> pd.DataFrame:
    scores["risk_band"] = risk_band(scores["churn_probability"], scores["recency_days"],
                                    s.churn_days, s.medium_risk_min, s.high_risk_min)
    return scores[list(SCORE_COLUMNS)].reset_index(drop=True)


def score_event_users(features: pd.DataFrame, s: ChurnSettings) -> tuple[ChurnRun, pd.DataFrame]:
    """Event data: the supervised model (or its fallback) on int_churn_features rows."""
    run, model = train_event_model(features[features["is_churned"].notna()], s)
    return run, event_scores(run, model, features[features["is_scoring_day"]], s)


def train_event_model(labelled: pd.DataFrame, s: ChurnSettings) -> tuple[ChurnRun, object | None]:
    return train_supervised(labelled, s.horizon_days, s.min_training_rows, s.churn_days,
                            s.max_training_rows)


def event_scores(run: ChurnRun, model: object | None, scoring: pd.DataFrame,
                 s: ChurnSettings) -> pd.DataFrame:
    """Per-user scores of the scoring day's rows with a model from train_event_model."""
    scored = score_scoring_rows(model, scoring)
    scores = scored[["user_id", "recency_days", "tier", "channel", "churn_probability"]].copy()
    scores["method"] = run.scored_with
    return _with_bands(scores, s)


def score_buyers(calibration: pd.DataFrame, current: pd.DataFrame, clv: pd.DataFrame,
                 s: ChurnSettings) -> tuple[ChurnRun, pd.DataFrame]:
    """Orders-only data: BG/NBD (or the recency fallback); see orders_churn_scores. The
    test day of the evaluation is the calibration's end (`calibration_end`)."""
    run, scored = orders_churn_scores(calibration, current, clv, s.holdout_days)
    if len(calibration):  # calibration ends on the test day; the holdout is after it
        run.test_day = run.train_last_day = pd.Timestamp(
            calibration["calibration_end"].max()).date()
    scores = pd.DataFrame({
        "user_id": scored["user_id"],
        "recency_days": scored["recency_days"].astype("int64"),
        "tier": pd.Series([None] * len(scored), dtype="object"),
        "channel": pd.Series([None] * len(scored), dtype="object"),
        "churn_probability": scored["churn_probability"].astype(float),
        "method": scored["method"],
    })
    return run, _with_bands(scores, s)


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
