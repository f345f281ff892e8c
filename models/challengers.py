"""Churn challengers: candidates, rolling-origin backtests, calibration, the champion.

Candidates (docs/CHURN.md):
- `recency`: P(churn) from days since the last active day alone (logistic on
  log(1 + days)), fitted on the labelled training rows: the baseline.
- `bgnbd`, `pareto_nbd`: the BTYD models fitted on every user's summary as of the
  cut-off (int_churn_backtest_summaries; active days, orders-only data: purchase days),
  scoring P(no active day in the horizon).
- `supervised`: gradient boosting on the feature rows of int_churn_features (recency,
  frequency, T, monetary value, gaps and their trend, activity over 7/30/90 days,
  engagement) plus the BG/NBD quantities of the fold (P(alive), P(no purchase)).

Backtest: cut-offs c_1 < ... < c_F (labelled feature days, `step` apart). At each, every
candidate is fitted on what was known at c (training rows whose label window ended by c;
summaries up to c) and scored on the users active at c (recency below the churn standard),
the same rows for every candidate. Probabilities are calibrated with Platt scaling fitted
on the candidate's own predictions at earlier cut-offs whose labels were complete by c, so
a calibrated probability never saw its fold either; the first fold has no calibrator.

Champion: the best mean of `champion_metric` across folds among the candidates evaluated
on every fold whose mean calibrated expected calibration error stays under the bound;
if none does, the lowest such error. Rules only: nothing looks at the scored period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models import btyd
from models.churn import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    fit_recency_model,
    make_classifier,
)

log = logging.getLogger(__name__)

CANDIDATES = ("recency", "bgnbd", "pareto_nbd", "supervised")
BTYD_FEATURES = ["p_alive_bgnbd", "p_none_bgnbd"]
EXTRA_FEATURES = ["frequency", "btyd_recency", "btyd_t", "last_gap_days", "mean_gap_days",
                  "gap_trend_days", "active_days_7", "active_days_30", "active_days_90",
                  "monetary_value"]
SUPERVISED_NUMERIC = NUMERIC_FEATURES + EXTRA_FEATURES + BTYD_FEATURES
SUPERVISED_FEATURES = SUPERVISED_NUMERIC + CATEGORICAL_FEATURES
BINS = 10


@dataclass(frozen=True)
class BacktestSettings:
    horizon_days: int
    churn_days: int
    min_training_rows: int
    max_training_rows: int | None
    candidates: tuple[str, ...]
    champion_metric: str
    max_calibration_error: float
    btyd_max_customers: int


# ---------------------------------------------------------------- metrics

def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> pd.DataFrame:
    """Equal-width bins of the predicted probability: users, mean prediction, observed rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        rows.append({"bin": b + 1, "bin_lower": edges[b], "bin_upper": edges[b + 1], "users": n,
                     "mean_predicted": float(p[inside].mean()) if n else None,
                     "observed_rate": float(y[inside].mean()) if n else None})
    return pd.DataFrame(rows)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> float:
    """Sum over bins of (users in bin / users) x |mean prediction - observed rate|."""
    table = reliability(y, p, bins)
    used = table[table["users"] > 0]
    gap = (used["mean_predicted"] - used["observed_rate"]).abs()
    return float((used["users"] * gap).sum() / max(len(y), 1))


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float | None:
    """Churn rate among the 10 % highest predictions (at least one user; ties broken by
    the order given) over the overall churn rate."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return None
    k = max(1, int(np.ceil(len(y) / 10)))
    top = np.argsort(-np.asarray(p, dtype=float), kind="mergesort")[:k]
    return float(y[top].mean() / y.mean())


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=bool)
    p = np.asarray(p, dtype=float)
    two = len(np.unique(y)) == 2
    q = _clip(p)
    return {
        "auc": float(roc_auc_score(y, p)) if two else None,
        "average_precision": float(average_precision_score(y, p)) if two else None,
        "brier": float(np.mean((p - y) ** 2)) if len(y) else None,
        "log_loss": float(-np.mean(y * np.log(q) + (~y) * np.log(1 - q))) if len(y) else None,
        "ece": expected_calibration_error(y, p) if len(y) else None,
        "top_decile_lift": top_decile_lift(y, p),
    }


@dataclass(frozen=True)
class Platt:
    """P = 1 / (1 + exp(-(a + b logit(p)))), fitted by logistic regression; the identity
    map (a = 0, b = 1) when the labels have one class."""

    a: float = 0.0
    b: float = 1.0

    @staticmethod
    def fit(p: np.ndarray, y: np.ndarray) -> Platt:
        y = np.asarray(y, dtype=bool)
        if len(np.unique(y)) < 2:
            return Platt()
        from sklearn.linear_model import LogisticRegression

        z = np.log(_clip(p) / (1 - _clip(p))).reshape(-1, 1)
        fit = LogisticRegression(C=1e6).fit(z, y)
        return Platt(float(fit.intercept_[0]), float(fit.coef_[0, 0]))

    def apply(self, p: np.ndarray) -> np.ndarray:
        z = np.log(_clip(p) / (1 - _clip(p)))
        return 1.0 / (1.0 + np.exp(-(self.a + self.b * z)))


# ---------------------------------------------------------------- candidates

def _sample(frame: pd.DataFrame, n: int | None) -> pd.DataFrame:
    return frame if n is None or len(frame) <= n else frame.sample(n=n, random_state=0)


def fit_btyd(kind: str, summary: pd.DataFrame, max_customers: int):
    """BG/NBD or Pareto/NBD parameters from a fixed-seed sample of the summaries."""
    fit = btyd.fit_bgnbd if kind == "bgnbd" else btyd.fit_pareto_nbd
    params, _ = fit(_sample(summary, max_customers))
    return params


def btyd_no_purchase(kind: str, params, summary: pd.DataFrame, horizon: int) -> np.ndarray:
    if kind == "bgnbd":
        return btyd.prob_no_purchase(params, summary, horizon)
    return btyd.pnbd_prob_no_purchase(params, summary, horizon)


def btyd_alive(kind: str, params, summary: pd.DataFrame) -> np.ndarray:
    return btyd.p_alive(params, summary) if kind == "bgnbd" else btyd.pnbd_p_alive(params, summary)


def with_btyd_features(rows: pd.DataFrame, params, horizon: int) -> pd.DataFrame:
    """Rows plus the BG/NBD quantities of each row's own summary as of its feature day
    (NaN without a fit), and gap_trend_days = last gap - mean gap."""
    out = rows.copy()
    numeric = [c for c in NUMERIC_FEATURES + EXTRA_FEATURES if c in out and c != "gap_trend_days"]
    out[numeric] = out[numeric].astype("float64")  # nullable ints: NaN, not pd.NA
    out["gap_trend_days"] = out["last_gap_days"] - out["mean_gap_days"]
    summary = pd.DataFrame({"frequency": out["frequency"], "recency": out["btyd_recency"],
                            "T": out["btyd_t"]}).astype(float)
    if params is None or summary.isna().any(axis=None):
        out["p_alive_bgnbd"] = np.nan
        out["p_none_bgnbd"] = np.nan
        return out
    out["p_alive_bgnbd"] = btyd.p_alive(params, summary)
    out["p_none_bgnbd"] = btyd.prob_no_purchase(params, summary, horizon)
    return out


@dataclass
class Fitted:
    """One candidate fitted as of a cut-off: predict(rows) gives P(churn) per row."""

    name: str
    model: object
    btyd_params: object = None
    summary: pd.DataFrame | None = None  # BTYD: summaries as of the cut-off, by user_id
    horizon: int = 30
    reference: pd.Series | None = None  # supervised: the training medians / modes

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        if rows.empty:
            return np.array([], dtype=float)
        if self.name == "recency":
            return self.model.predict(rows["recency_days"].to_numpy())
        if self.name in ("bgnbd", "pareto_nbd"):
            s = self.summary.reindex(rows["user_id"].to_numpy())
            return btyd_no_purchase(self.name, self.model, s.astype(float), self.horizon)
        return self.model.predict_proba(rows[SUPERVISED_FEATURES])[:, 1]


def fit_candidate(name: str, train: pd.DataFrame, summary: pd.DataFrame,
                  bgnbd_params, s: BacktestSettings) -> Fitted:
    """`train`: labelled feature rows (with BTYD features); `summary`: every user's
    summary at the cut-off (user_id, frequency, recency, T)."""
    y = train["is_churned"].astype(bool).to_numpy()
    if name == "recency":
        return Fitted(name, fit_recency_model(train["recency_days"].to_numpy(), y))
    if name in ("bgnbd", "pareto_nbd"):
        frame = summary.set_index("user_id")[["frequency", "recency", "T"]]
        # BG/NBD without parameters failed to fit at this cut-off: fitting again raises
        # that failure with its own message (deterministic, and only on a failed fit)
        params = (bgnbd_params if name == "bgnbd" and bgnbd_params is not None
                  else fit_btyd(name, frame, s.btyd_max_customers))
        return Fitted(name, params, summary=frame, horizon=s.horizon_days)
    sample = _sample(train, s.max_training_rows)
    ys = sample["is_churned"].astype(bool).to_numpy()
    if len(np.unique(ys)) < 2:
        raise ValueError("the training rows have one label class")
    model = make_classifier(SUPERVISED_NUMERIC, CATEGORICAL_FEATURES).fit(
        sample[SUPERVISED_FEATURES], ys)
    reference = pd.concat([sample[SUPERVISED_NUMERIC].median(),
                           sample[CATEGORICAL_FEATURES].mode().iloc[0]])
    return Fitted(name, model, reference=reference)


# ---------------------------------------------------------------- backtest

@dataclass
class Backtest:
    rows: pd.DataFrame  # one per candidate and fold: metrics, raw and calibrated
    calibration: pd.DataFrame  # reliability tables per candidate, pooled over folds
    champion: str | None
    reason: str
    calibrators: dict[str, Platt] = field(default_factory=dict)
    # per candidate: Platt scaling lowered the calibration error on the folds it could be
    # tested on (else its raw probabilities are published)
    calibrate: dict[str, bool] = field(default_factory=dict)

    def publish(self, name: str, p: np.ndarray) -> np.ndarray:
        """The published probability of candidate `name` for raw probabilities `p`."""
        return self.calibrators[name].apply(p) if self.calibrate.get(name) else p


def fold_days(summaries: pd.DataFrame) -> list[pd.Timestamp]:
    days = pd.to_datetime(summaries.loc[~summaries["is_scoring_day"].astype(bool),
                                        "cutoff_date"])
    return sorted(days.unique())


def _bgnbd_or_none(summary: pd.DataFrame, s: BacktestSettings):
    try:
        return fit_btyd("bgnbd", summary.set_index("user_id")[["frequency", "recency", "T"]],
                        s.btyd_max_customers)
    except btyd.FitError as exc:
        log.warning("BG/NBD features unavailable at this cut-off: %s", exc)
        return None


def backtest(features: pd.DataFrame, summaries: pd.DataFrame, s: BacktestSettings) -> Backtest:
    """Rolling-origin backtest of every candidate on the same folds (module docstring).
    `features`: labelled int_churn_features rows (feature_date, user_id, features,
    is_churned); `summaries`: int_churn_backtest_summaries."""
    features = features.assign(feature_date=pd.to_datetime(features["feature_date"]))
    summaries = summaries.assign(cutoff_date=pd.to_datetime(summaries["cutoff_date"]))
    horizon = pd.Timedelta(days=s.horizon_days)
    records, preds = [], {c: [] for c in s.candidates}
    for fold, day in enumerate(fold_days(summaries), start=1):
        train = features[(features["feature_date"] + horizon <= day)
                         & features["is_churned"].notna()]
        test = features[(features["feature_date"] == day) & features["is_churned"].notna()
                        & (features["recency_days"] < s.churn_days)]
        base = {"fold": fold, "cutoff_date": day.date(), "train_rows": len(train),
                "test_rows": len(test)}
        if len(train) < s.min_training_rows or test.empty:
            records += [{**base, "candidate": c, "status": "skipped",
                         "message": f"{len(train)} training rows (need {s.min_training_rows}) "
                         f"and {len(test)} test users"} for c in s.candidates]
            continue
        summary = summaries[summaries["cutoff_date"] == day]
        params = _bgnbd_or_none(summary, s)
        train = with_btyd_features(train, params, s.horizon_days)
        test = with_btyd_features(test, params, s.horizon_days)
        y = test["is_churned"].astype(bool).to_numpy()
        for name in s.candidates:
            try:
                fitted = fit_candidate(name, train, summary, params, s)
                p = fitted.predict(test)
                if not np.all(np.isfinite(p)):
                    raise btyd.FitError("non-finite probabilities")
            except (btyd.FitError, ValueError) as exc:
                records.append({**base, "candidate": name, "status": "failed",
                                "message": str(exc)})
                continue
            preds[name].append(pd.DataFrame({"fold": fold, "cutoff_date": day,
                                             "user_id": test["user_id"].to_numpy(),
                                             "y": y, "p": p}))
            records.append({**base, "candidate": name, "status": "ok", "message": "",
                            "churn_rate": float(y.mean()),
                            **{f"raw_{k}": v for k, v in metrics(y, p).items()}})
    rows = pd.DataFrame(records)
    pooled = {c: pd.concat(v, ignore_index=True) for c, v in preds.items() if v}
    rows = _calibrate(rows, pooled, s)
    calibrators = {c: Platt.fit(v["p"].to_numpy(), v["y"].to_numpy()) for c, v in pooled.items()}
    calibrate = {c: calibration_helps(rows, c) for c in pooled}
    champion, reason = choose_champion(rows, s)
    if not rows.empty:
        rows["is_champion"] = (rows["candidate"] == champion) & (rows["status"] == "ok")
    if champion is not None:
        reason += "; published " + ("Platt-calibrated" if calibrate.get(champion)
                                    else "uncalibrated (Platt did not lower the error)")
    return Backtest(rows, _calibration_tables(pooled), champion, reason, calibrators, calibrate)


def _errors(rows: pd.DataFrame, name: str) -> tuple[float, float | None]:
    """Mean raw calibration error over a candidate's folds and, over the folds with a
    calibrator, the mean calibrated one next to the raw one of the same folds."""
    mine = rows[(rows["candidate"] == name) & (rows["status"] == "ok")]
    cal = mine[mine["calibrated"].astype(bool)]
    if cal.empty:
        return float(mine["raw_ece"].astype(float).mean()), None
    return float(cal["raw_ece"].astype(float).mean()), float(cal["ece"].astype(float).mean())


def calibration_helps(rows: pd.DataFrame, name: str) -> bool:
    raw, calibrated = _errors(rows, name)
    return calibrated is not None and calibrated < raw


def published_error(rows: pd.DataFrame, name: str) -> float:
    """The calibration error of what would be published: calibrated or raw, the lower."""
    raw, calibrated = _errors(rows, name)
    return raw if calibrated is None else min(raw, calibrated)


def _calibrate(rows: pd.DataFrame, pooled: dict[str, pd.DataFrame],
               s: BacktestSettings) -> pd.DataFrame:
    """Calibrated metrics of each fold with a Platt map fitted on the candidate's earlier
    folds whose labels were complete by this fold's cut-off; none for the first."""
    horizon = pd.Timedelta(days=s.horizon_days)
    out = []
    for record in rows.to_dict("records"):
        record["calibrated"] = False
        frame = pooled.get(record["candidate"])
        if record.get("status") == "ok" and frame is not None:
            day = pd.Timestamp(record["cutoff_date"])
            earlier = frame[frame["cutoff_date"] + horizon <= day]
            mine = frame[frame["fold"] == record["fold"]]
            if len(earlier) and earlier["y"].nunique() == 2:
                cal = Platt.fit(earlier["p"].to_numpy(), earlier["y"].to_numpy())
                p = cal.apply(mine["p"].to_numpy())
                record.update({k: v for k, v in metrics(mine["y"].to_numpy(), p).items()})
                record["calibrated"] = True
            else:
                record.update({k: record[f"raw_{k}"] for k in
                               ("auc", "average_precision", "brier", "log_loss", "ece",
                                "top_decile_lift")})
        out.append(record)
    return pd.DataFrame(out)


def choose_champion(rows: pd.DataFrame, s: BacktestSettings) -> tuple[str | None, str]:
    if rows.empty or "auc" not in rows:
        return None, "no fold could be evaluated"
    ok = rows[rows["status"] == "ok"]
    folds = rows["fold"].unique()
    evaluated = rows[rows["status"] != "skipped"]["fold"].unique()
    if len(evaluated) == 0:
        return None, "no fold could be evaluated (" + rows["message"].iloc[0] + ")"
    complete = [c for c in s.candidates
                if set(ok.loc[ok["candidate"] == c, "fold"]) >= set(evaluated)]
    if not complete:
        return None, "no candidate was fitted on every evaluated fold"
    metric = s.champion_metric
    summary = {}
    for c in complete:
        mine = ok[ok["candidate"] == c]
        summary[c] = (mine[metric].astype(float).mean(), published_error(rows, c))
    complete = [c for c in complete if np.isfinite(summary[c][0])]
    if not complete:
        return None, f"no candidate has a {metric} (the test folds have one label class)"
    eligible = [c for c in complete if summary[c][1] <= s.max_calibration_error]
    if eligible:
        best = max(eligible, key=lambda c: (np.nan_to_num(summary[c][0], nan=-1),
                                            -s.candidates.index(c)))
        return best, (f"best mean {metric} {summary[best][0]:.3f} over {len(evaluated)} of "
                      f"{len(folds)} folds with calibration error "
                      f"{summary[best][1]:.3f} <= {s.max_calibration_error:g}")
    best = min(complete, key=lambda c: summary[c][1])
    return best, (f"no candidate's calibration error is <= {s.max_calibration_error:g}: "
                  f"the lowest ({summary[best][1]:.3f}) wins")


def _calibration_tables(pooled: dict[str, pd.DataFrame]) -> pd.DataFrame:
    frames = []
    for name, frame in pooled.items():
        table = reliability(frame["y"].to_numpy(), frame["p"].to_numpy())
        frames.append(table.assign(candidate=name))
    if not frames:
        return pd.DataFrame(columns=["candidate", "bin", "bin_lower", "bin_upper", "users",
                                     "mean_predicted", "observed_rate"])
    return pd.concat(frames, ignore_index=True)[["candidate", "bin", "bin_lower", "bin_upper",
                                                 "users", "mean_predicted", "observed_rate"]]


# ---------------------------------------------------------------- the champion scores

def drivers(fitted: Fitted, rows: pd.DataFrame, p: np.ndarray, top: int = 3) -> pd.DataFrame:
    """The top `top` reasons per row, as text. Supervised: per-user contributions, the
    change in P(churn) when a feature is set to its training median (mode), largest
    first. BTYD: the quantities that drove it (P(alive), days since the last active day,
    frequency over T). Recency: the days since the last active day."""
    out = pd.DataFrame(index=rows.index, columns=[f"driver_{i}" for i in range(1, top + 1)],
                       dtype=object)
    if rows.empty:
        return out
    if fitted.name == "recency":
        out["driver_1"] = [f"recency_days={int(v)}" for v in rows["recency_days"]]
        return out
    if fitted.name in ("bgnbd", "pareto_nbd"):
        s = fitted.summary.reindex(rows["user_id"].to_numpy()).astype(float)
        alive = btyd_alive(fitted.name, fitted.model, s)
        out["driver_1"] = [f"p_alive={a:.2f}" for a in alive]
        out["driver_2"] = [f"days_since_last_active={int(t - r)}"
                           for t, r in zip(s["T"], s["recency"], strict=True)]
        out["driver_3"] = [f"active_days={int(f) + 1} in {int(t) + 1} days"
                           for f, t in zip(s["frequency"], s["T"], strict=True)]
        return out
    # every feature set to its reference in one frame, predicted in one call
    changed = pd.concat([rows.assign(**{name: fitted.reference[name]})
                         for name in SUPERVISED_FEATURES], ignore_index=True)
    delta = p[None, :] - fitted.predict(changed).reshape(len(SUPERVISED_FEATURES), len(rows))
    delta = delta.T  # rows x features
    order = np.argsort(-np.abs(delta), axis=1, kind="mergesort")[:, :top]
    for i in range(top):
        picked = order[:, i]
        text = np.empty(len(rows), dtype=object)
        for k in np.unique(picked):  # the rows whose i-th driver is feature k, at once
            at = np.flatnonzero(picked == k)
            name = SUPERVISED_FEATURES[k]
            values = rows[name].iloc[at]
            text[at] = [f"{name}={_show(v)} ({x:+.2f})"
                        for v, x in zip(values, delta[at, k], strict=True)]
        out[f"driver_{i + 1}"] = text
    return out


def _show(value) -> str:
    if isinstance(value, float | np.floating):
        return "n/a" if np.isnan(value) else f"{value:.3g}"
    return str(value)


def fit_champion(name: str, labelled: pd.DataFrame, summary_now: pd.DataFrame,
                 s: BacktestSettings) -> tuple[Fitted, object]:
    """The champion refitted on everything known at the snapshot: the labelled rows
    (recency, supervised) or every user's summary at the snapshot (BTYD). Returns it and
    the BG/NBD parameters the supervised features need (None if BG/NBD cannot fit)."""
    params = _bgnbd_or_none(summary_now, s)
    train = with_btyd_features(labelled[labelled["is_churned"].notna()], params,
                               s.horizon_days)
    return fit_candidate(name, train, summary_now, params, s), params
