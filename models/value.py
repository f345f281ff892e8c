"""Customer value scores from the purchase summary: BG/NBD for purchases, Gamma-Gamma for
spend, with the fallbacks that keep a daily run alive when the data do not identify a model.

A fit whose parameters run to a bound is not an error in the data; it is the limit the
data point to. Gamma-Gamma with q and gamma at their bounds is the limit in which spend
does not differ between customers: every customer's expected average value is then the
population mean of transaction values, which is what we publish (status `degenerate`,
value method `population_mean`). A BG/NBD fit the data do not identify yields no CLV
scores (status `degenerate`, reason kept); churn scoring then falls back to recency
(models/churn.py). Pure functions: DataFrame in, DataFrame and run records out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models import btyd

log = logging.getLogger(__name__)

CLV_SCORES = (
    "p_alive", "expected_average_value", "expected_purchases_short", "p_purchase_short",
    "clv_short", "expected_purchases_long", "p_purchase_long", "clv_long",
    "short_horizon_days", "long_horizon_days",
)
PROBABILITIES = ("p_alive", "p_purchase_short", "p_purchase_long")


@dataclass
class ModelRun:
    """One fitted value model, published as a row of value_model_runs."""

    model: str  # bgnbd | gamma_gamma
    status: str  # ok | degenerate | skipped
    method: str  # what the published scores use: bgnbd | gamma_gamma | population_mean | none
    reason: str = ""
    customers: int = 0
    log_likelihood: float | None = None
    params: dict[str, float] = field(default_factory=dict)

    @property
    def is_fallback(self) -> bool:
        return self.status != "ok"


@dataclass
class ClvResult:
    scores: pd.DataFrame  # one row per buyer, or empty with typed columns
    runs: list[ModelRun]

    @property
    def metadata(self) -> dict[str, float | int | str]:
        out: dict[str, float | int | str] = {"buyers": len(self.scores)}
        for r in self.runs:
            out[f"{r.model}_status"] = r.status
            out[f"{r.model}_method"] = r.method
            if r.reason:
                out[f"{r.model}_reason"] = r.reason
            if r.log_likelihood is not None:
                out[f"{r.model}_log_likelihood"] = r.log_likelihood
            out.update({f"{r.model}_param_{k}": v for k, v in r.params.items()})
        return out


def population_mean_value(summary: pd.DataFrame) -> float:
    """Mean value of the repeat transactions of all customers: sum(x m) / sum(x), the
    Gamma-Gamma expected average value in the limit of no spend heterogeneity."""
    x = summary["frequency"].to_numpy(dtype=float)
    m = summary["monetary_value"].to_numpy(dtype=float)
    use = (x > 0) & np.isfinite(m)
    total = float(np.sum(x[use]))
    return float(np.sum(x[use] * m[use]) / total) if total > 0 else 0.0


def _empty(summary: pd.DataFrame) -> pd.DataFrame:
    empty = summary.iloc[0:0].copy()
    for col in CLV_SCORES:
        empty[col] = pd.Series(dtype="float64")
    empty["value_method"] = pd.Series(dtype="str")
    return empty


def _fit_spend(base: pd.DataFrame) -> tuple[btyd.GammaGammaParams | None, ModelRun]:
    customers = int(((base["frequency"] > 0) & (base["monetary_value"] > 0)).sum())
    try:
        params, diag = btyd.fit_gamma_gamma(base)
    except btyd.FitError as exc:
        mean = population_mean_value(base)
        reason = (f"{exc}; every customer's expected average value is the population mean "
                  f"of transaction values, {mean:.4g}")
        log.warning("gamma_gamma degenerate: %s", reason)
        return None, ModelRun("gamma_gamma", "degenerate", "population_mean", reason,
                              customers, params={"population_mean": mean})
    return params, ModelRun("gamma_gamma", "ok", "gamma_gamma", "", diag.customers,
                            diag.log_likelihood, diag.params)


def _valid(scores: pd.DataFrame) -> str | None:
    """Why these scores must not be published, or None."""
    bad = [c for c in scores.columns if not np.all(np.isfinite(scores[c].to_numpy(float)))]
    if bad:
        return f"scores {bad} have non-finite values"
    outside = [c for c in PROBABILITIES if c in scores
               and not scores[c].between(0, 1).all()]
    return f"probabilities {outside} fall outside [0, 1]" if outside else None


def score_clv(
    summary: pd.DataFrame, horizons: Mapping[str, int], min_repeat_buyers: int
) -> ClvResult:
    """Fit and score (horizons: {"short": days, "long": days}). Too few repeat buyers to
    identify the models: no scores, status skipped (a young product is not an error)."""
    base = summary.set_index("user_id")
    repeaters = int((base["frequency"] > 0).sum())
    if repeaters < min_repeat_buyers:
        reason = f"{repeaters} repeat buyers, the fit needs {min_repeat_buyers}"
        log.warning("user_clv skipped: %s", reason)
        runs = [ModelRun(m, "skipped", "none", reason, len(base))
                for m in ("bgnbd", "gamma_gamma")]
        return ClvResult(_empty(summary), runs)
    spend, spend_run = _fit_spend(base)
    try:
        bg, diag = btyd.fit_bgnbd(base)
        scores = btyd.score_customers(bg, spend, base, dict(horizons))
        problem = _valid(scores)
        if problem:
            raise btyd.FitError(f"bgnbd {problem}")
    except btyd.FitError as exc:
        reason = f"{exc}; no CLV scores are published, churn falls back to recency"
        log.warning("bgnbd degenerate: %s", reason)
        run = ModelRun("bgnbd", "degenerate", "none", reason, len(base))
        return ClvResult(_empty(summary), [run, spend_run])
    if spend is None:
        value = spend_run.params["population_mean"]
        scores["expected_average_value"] = value
        for label in horizons:
            scores[f"clv_{label}"] = scores[f"expected_purchases_{label}"] * value
    out = base.join(scores).reset_index()
    for label, days in horizons.items():
        out[f"{label}_horizon_days"] = days
    out["value_method"] = spend_run.method
    out = out[[*summary.columns, *CLV_SCORES, "value_method"]]  # one column order, always
    bg_run = ModelRun("bgnbd", "ok", "bgnbd", "", diag.customers, diag.log_likelihood,
                      diag.params)
    return ClvResult(out, [bg_run, spend_run])
