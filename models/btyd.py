"""Buy-till-you-die models: BG/NBD (purchase count and dropout) and Gamma-Gamma (spend).

Inputs are the purchase summary of docs/METRICS.md ("Value"): per customer `frequency`
(repeat purchase days), `recency` and `T` (in any time unit, the same for all rows) and,
for Gamma-Gamma, `monetary_value` (mean value of the repeat purchase days).

References:
- P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "Counting your customers the easy
  way: an alternative to the Pareto/NBD model", Marketing Science 24(2): likelihood (eq. 6),
  conditional expectation (eq. 10), P(alive) (eq. 13 of the technical note).
- P. S. Fader and B. G. S. Hardie (2013), "The Gamma-Gamma model of monetary value".
- D. C. Schmittlein, D. G. Morrison and R. Colombo (1987), "Counting your customers";
  P. S. Fader and B. G. S. Hardie (2005), "A note on deriving the Pareto/NBD model and
  related expressions": Pareto/NBD likelihood (eq. 22-24) and P(alive) (eq. 18).

Parameters are fitted by maximum likelihood on log scale (they must be positive) with
scipy's L-BFGS-B; a fit that does not converge, or whose parameters are not finite, raises
`FitError` instead of returning numbers nobody should trust.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

log = logging.getLogger(__name__)

# Parameters outside this range on log scale mean the optimiser ran off to a boundary:
# the data do not identify the model (for example nobody ever repeats).
_LOG_BOUND = 12.0
# Gamma-Gamma's q at which the spread of customers' mean spend (CV 1 / sqrt(q) = 3 %) is
# no spread: the model's limit of one population mean (models/value.py)
_GG_HOMOGENEOUS_Q = 1000.0


class FitError(RuntimeError):
    """The model could not be fitted to these data; the message says why."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class ParetoNbdParams:
    r: float
    alpha: float
    s: float
    beta: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class FitDiagnostics:
    model: str
    customers: int
    log_likelihood: float
    converged: bool
    iterations: int
    message: str
    params: dict[str, float]

    def as_metadata(self) -> dict[str, float | int | str | bool]:
        out: dict[str, float | int | str | bool] = {
            f"{self.model}_{k}": v for k, v in asdict(self).items() if k != "params"
        }
        out.pop(f"{self.model}_model")
        out.update({f"{self.model}_param_{k}": v for k, v in self.params.items()})
        return out


def _arrays(summary: pd.DataFrame, cols: list[str]) -> list[np.ndarray]:
    missing = [c for c in cols if c not in summary.columns]
    if missing:
        raise FitError(f"purchase summary lacks columns {missing}")
    arrays = [summary[c].to_numpy(dtype=float) for c in cols]
    for name, arr in zip(cols, arrays, strict=True):
        if not np.all(np.isfinite(arr)):
            raise FitError(f"purchase summary column {name!r} has missing or infinite values")
        if np.any(arr < 0):
            raise FitError(f"purchase summary column {name!r} has negative values")
    return arrays


def bgnbd_log_likelihood(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of BG/NBD (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # the dropout branch exists only for customers with a repeat purchase
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


def _minimise(nll, start: np.ndarray, model: str, n: int, names: list[str]):
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    result = optimize.minimize(nll, start, method="L-BFGS-B", bounds=bounds)
    if result.success:
        # polish with tight tolerances, so the optimum and not the optimiser's path decides
        # the digits (inputs equal up to float summation order give equal scores); the line
        # search may give up near the optimum, which is fine once the first fit converged
        polish = optimize.minimize(nll, result.x, method="L-BFGS-B", bounds=bounds,
                                   options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000})
        if np.isfinite(polish.fun) and polish.fun <= result.fun:
            polish.success, polish.nit = True, result.nit + polish.nit
            result = polish
    values = np.exp(result.x)
    diag = FitDiagnostics(
        model=model,
        customers=n,
        log_likelihood=float(-result.fun),
        converged=bool(result.success),
        iterations=int(result.nit),
        message=str(result.message),
        params={k: float(v) for k, v in zip(names, values, strict=True)},
    )
    if not result.success or not np.all(np.isfinite(values)) or not np.isfinite(result.fun):
        raise FitError(f"{model} fit did not converge: {result.message} ({diag.params})")
    at_bound = [k for k, v in zip(names, result.x, strict=True) if abs(v) >= _LOG_BOUND - 1e-6]
    if at_bound:
        raise FitError(
            f"{model} fit is degenerate: parameters {at_bound} ran to a bound "
            f"({diag.params}); the data do not identify the model"
        )
    log.info("%s fit: %s, log-likelihood %.2f", model, diag.params, diag.log_likelihood)
    return values, diag


def fit_bgnbd(summary: pd.DataFrame) -> tuple[BgNbdParams, FitDiagnostics]:
    """Maximum-likelihood BG/NBD on columns frequency, recency, T."""
    x, t_x, T = _arrays(summary, ["frequency", "recency", "T"])
    if len(x) == 0:
        raise FitError("BG/NBD needs at least one customer")
    if not np.any(x > 0):
        raise FitError("BG/NBD needs at least one customer with a repeat purchase")
    if np.any(t_x > T):
        raise FitError("purchase summary has recency greater than T")

    def nll(log_params: np.ndarray) -> float:
        p = BgNbdParams(*np.exp(log_params))
        return -float(np.sum(bgnbd_log_likelihood(p, x, t_x, T)))

    # start from a moment-style guess: alpha on the scale of the observation time
    start = np.log([1.0, max(float(np.mean(T)), 1e-3) / 10, 1.0, 1.0])
    values, diag = _minimise(nll, start, "bgnbd", len(x), ["r", "alpha", "a", "b"])
    return BgNbdParams(*values), diag


def p_alive(params: BgNbdParams, summary: pd.DataFrame) -> np.ndarray:
    """P(customer still alive at T | frequency, recency, T); 1 for one-time buyers."""
    x, t_x, T = _arrays(summary, ["frequency", "recency", "T"])
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    log_ratio = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
        -np.inf,
    )
    return 1.0 / (1.0 + np.exp(log_ratio))


def expected_purchases(params: BgNbdParams, summary: pd.DataFrame, t: float) -> np.ndarray:
    """E[number of purchases in (T, T + t] | frequency, recency, T] (FHL 2005, eq. 10)."""
    x, _, T = _arrays(summary, ["frequency", "recency", "T"])
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    ratio = ((alpha + T) / (alpha + T + t)) ** (r + x)
    numerator = (a + b + x - 1) / (a - 1) * (1.0 - ratio * hyp)
    return numerator * p_alive(params, summary)


def prob_no_purchase(params: BgNbdParams, summary: pd.DataFrame, t: float) -> np.ndarray:
    """P(no purchase in (T, T + t] | frequency, recency, T).

    Zero purchases happen if the customer died before T, or is alive at T and makes no
    purchase in t (a BG/NBD customer can only drop out right after a purchase). So
    P = [A(T + t) + D] / [A(T) + D] with A(s) = B(a, b+x) Γ(r+x) α^r / (B(a,b) Γ(r) (α+s)^(r+x))
    and D the dead-at-T branch of the likelihood. For one-time buyers D = 0 and
    P = ((α+T) / (α+T+t))^r, which is what 1 - exp(-E[Y]) would get wrong.
    """
    x, t_x, T = _arrays(summary, ["frequency", "recency", "T"])
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - special.betaln(a, b)
    log_alive = common + special.betaln(a, b + x)
    repeat = x > 0
    log_dead = np.where(
        repeat,
        common + special.betaln(a + 1, np.where(repeat, b + x - 1, 1.0))
        - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    num = np.logaddexp(log_alive - (r + x) * np.log(alpha + T + t), log_dead)
    den = np.logaddexp(log_alive - (r + x) * np.log(alpha + T), log_dead)
    return np.exp(num - den)


# Distinct (x, t) pairs and each customer's index into them: A0's two 2F1 terms depend
# on (x, t_x) and (x, T) only, and far fewer pairs than customers or rows exist.
Pairs = tuple[np.ndarray, np.ndarray, np.ndarray]


def distinct_pairs(x: np.ndarray, t: np.ndarray) -> Pairs:
    pairs, inverse = np.unique(np.column_stack([x, t]), axis=0, return_inverse=True)
    return pairs[:, 0], pairs[:, 1], inverse.ravel()


def _pnbd_log_a0(params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray,
                 T: np.ndarray, pairs: tuple[Pairs, Pairs] | None = None) -> np.ndarray:
    """log A0 of Fader & Hardie (2005, eq. 24), with the 2F1 branch that keeps its argument
    in [0, 1): alpha >= beta or alpha < beta. `pairs`: distinct_pairs(x, t_x) and
    distinct_pairs(x, T), to evaluate each 2F1 term once per pair (a fit's many
    evaluations on the same data); the same values as without."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    if alpha >= beta:
        def term(x, t):
            rsx = r + s + x
            z = (alpha - beta) / (alpha + t)
            return np.log(special.hyp2f1(rsx, s + 1, rsx + 1, z)) - rsx * np.log(alpha + t)
    else:
        def term(x, t):
            rsx = r + s + x
            z = (beta - alpha) / (beta + t)
            return np.log(special.hyp2f1(rsx, r + x, rsx + 1, z)) - rsx * np.log(beta + t)
    if pairs is None:
        first, last = term(x, t_x), term(x, T)
    else:
        (x1, t1, at1), (x2, t2, at2) = pairs
        first, last = term(x1, t1)[at1], term(x2, t2)[at2]
    with np.errstate(divide="ignore"):  # t_x = T: A0 = 0, log -inf
        return first + np.log1p(-np.exp(np.minimum(last - first, 0.0)))


def pnbd_log_likelihood(
    params: ParetoNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
    pairs: tuple[Pairs, Pairs] | None = None,
) -> np.ndarray:
    """Per-customer log-likelihood of the Pareto/NBD (Fader & Hardie 2005, eq. 22);
    `pairs` as for _pnbd_log_a0."""
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) - np.log(r + s + x) + _pnbd_log_a0(params, x, t_x, T, pairs)
    return head + np.logaddexp(alive, dead)


def fit_pareto_nbd(summary: pd.DataFrame) -> tuple[ParetoNbdParams, FitDiagnostics]:
    """Maximum-likelihood Pareto/NBD on columns frequency, recency, T."""
    x, t_x, T = _arrays(summary, ["frequency", "recency", "T"])
    if len(x) == 0 or not np.any(x > 0):
        raise FitError("Pareto/NBD needs customers with a repeat purchase")
    if np.any(t_x > T):
        raise FitError("purchase summary has recency greater than T")

    # customers with the same (x, t_x, T) share a likelihood term: evaluate each once
    rows, count = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    x, t_x, T = rows[:, 0], rows[:, 1], rows[:, 2]
    pairs = (distinct_pairs(x, t_x), distinct_pairs(x, T))

    def nll(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = -float(np.sum(count * pnbd_log_likelihood(
                ParetoNbdParams(*np.exp(log_params)), x, t_x, T, pairs)))
        return value if np.isfinite(value) else 1e300

    scale = max(float(np.mean(T)), 1e-3) / 4
    start = np.log([0.5, scale, 0.5, scale])
    # 2F1 overflows far from the optimum, where a gradient step may land: a simplex search
    # (no gradient, bounded moves) finds the basin, L-BFGS-B then polishes as for BG/NBD
    coarse = optimize.minimize(nll, start, method="Nelder-Mead",
                               options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 4000})
    if np.isfinite(coarse.fun) and coarse.fun < nll(start):
        start = coarse.x
    values, diag = _minimise(nll, start, "pareto_nbd", int(count.sum()),
                             ["r", "alpha", "s", "beta"])
    return ParetoNbdParams(*values), diag


def pnbd_p_alive(params: ParetoNbdParams, summary: pd.DataFrame) -> np.ndarray:
    """P(alive at T | frequency, recency, T) under the Pareto/NBD (F&H 2005, eq. 18)."""
    x, t_x, T = _arrays(summary, ["frequency", "recency", "T"])
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    log_ratio = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T)
                 + s * np.log(beta + T) + _pnbd_log_a0(params, x, t_x, T))
    return 1.0 / (1.0 + np.exp(log_ratio))


def pnbd_prob_no_purchase(params: ParetoNbdParams, summary: pd.DataFrame, t: float,
                          nodes: int = 32) -> np.ndarray:
    """P(no purchase in (T, T + t] | frequency, recency, T) under the Pareto/NBD.

    Dead at T, or alive with purchase rate lambda ~ Gamma(r + x, alpha + T) and dropout
    rate mu ~ Gamma(s, beta + T) (the posterior given alive at T) and then either dropping
    out before the next purchase or making none in t:
    mu / (lambda + mu) + lambda / (lambda + mu) exp(-(lambda + mu) t). The expectation over
    lambda and mu is a generalised Gauss-Laguerre quadrature (deterministic)."""
    x, _, T = _arrays(summary, ["frequency", "recency", "T"])
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    alive = pnbd_p_alive(params, summary)
    # the expectation depends on (x, T) only: computed once per distinct pair
    pairs, back = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    mu_u, mu_w = special.roots_genlaguerre(nodes, s - 1)
    mu_w = mu_w / special.gamma(s)
    per_pair = np.empty(len(pairs))
    for value in np.unique(pairs[:, 0]):
        rows = np.nonzero(pairs[:, 0] == value)[0]
        lam_u, lam_w = special.roots_genlaguerre(nodes, r + value - 1)
        lam_w = np.exp(np.log(lam_w) - special.gammaln(r + value))
        lam = lam_u[None, :, None] / (alpha + pairs[rows, 1])[:, None, None]
        mu = mu_u[None, None, :] / (beta + pairs[rows, 1])[:, None, None]
        total = lam + mu
        none = mu / total + lam / total * np.exp(-total * t)
        per_pair[rows] = np.einsum("nij,i,j->n", none, lam_w, mu_w)
    out = per_pair[back.ravel()]
    return (1.0 - alive) + alive * np.clip(out, 0.0, 1.0)


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Per-customer log-likelihood of the Gamma-Gamma spend model (x > 0, m > 0)."""
    p, q, g = params.p, params.q, params.gamma
    return (
        special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q)
        + q * np.log(g) + (p * x - 1) * np.log(m) + p * x * np.log(x)
        - (p * x + q) * np.log(g + m * x)
    )


def fit_gamma_gamma(summary: pd.DataFrame) -> tuple[GammaGammaParams, FitDiagnostics]:
    """Maximum-likelihood Gamma-Gamma on repeat customers with positive monetary_value."""
    x, m = _arrays(summary, ["frequency", "monetary_value"])
    use = (x > 0) & (m > 0)
    x, m = x[use], m[use]
    if len(x) < 2:
        raise FitError("Gamma-Gamma needs at least two repeat customers with positive spend")

    def nll(log_params: np.ndarray) -> float:
        p = GammaGammaParams(*np.exp(log_params))
        return -float(np.sum(gamma_gamma_log_likelihood(p, x, m)))

    start = np.log([1.0, 1.0, max(float(np.mean(m)), 1e-3)])
    values, diag = _minimise(nll, start, "gamma_gamma", len(x), ["p", "q", "gamma"])
    params = GammaGammaParams(*values)
    if params.q >= _GG_HOMOGENEOUS_Q:
        # q -> infinity with gamma / q fixed is the boundary where customers' mean spend
        # does not differ (its CV is 1 / sqrt(q)); the likelihood is flat along that ridge,
        # so where the optimiser stops short of the box bound depends on the CPU's floating
        # point, not on the data: judge the limit, not the bound
        raise FitError(
            f"gamma_gamma fit is degenerate: q = {params.q:.4g} and gamma = "
            f"{params.gamma:.4g} ran to a bound of the model (q -> infinity: customers' mean "
            f"spend differs by {100 / np.sqrt(params.q):.1f} % (CV), i.e. not at all); the "
            "data do not identify the spread of spend between customers"
        )
    if params.q <= 1:
        # the population mean spend p·γ/(q-1) is infinite: nothing sensible to publish
        raise FitError(f"Gamma-Gamma fit has q = {params.q:.3f} <= 1: mean spend is unbounded")
    return params, diag


def expected_average_value(params: GammaGammaParams, summary: pd.DataFrame) -> np.ndarray:
    """E[mean purchase value | frequency, monetary_value]; the population mean when x = 0."""
    x, m = _arrays(summary, ["frequency", "monetary_value"])
    p, q, g = params.p, params.q, params.gamma
    return (p * (g + x * m)) / (p * x + q - 1)


def score_customers(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams | None,
    summary: pd.DataFrame,
    horizons: tuple[int, ...] | Mapping[str, int],
) -> pd.DataFrame:
    """Per customer: P(alive), and per horizon expected purchases, P(at least one purchase),
    and (with a spend model) expected average value and CLV = expected purchases × value
    (undiscounted revenue over the horizon). Columns end in the horizon's label: `30d` for
    a tuple entry 30, or the key of a mapping such as {"short": 30}."""
    labelled = horizons if isinstance(horizons, Mapping) else {f"{h}d": h for h in horizons}
    # invalid parameters surface as NaN and are refused below, so numpy need not warn
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = pd.DataFrame({"p_alive": p_alive(bgnbd, summary)}, index=summary.index)
        value = expected_average_value(gamma_gamma, summary) if gamma_gamma else None
        if value is not None:
            out["expected_average_value"] = value
        for label, h in labelled.items():
            out[f"expected_purchases_{label}"] = expected_purchases(bgnbd, summary, h)
            out[f"p_purchase_{label}"] = 1.0 - prob_no_purchase(bgnbd, summary, h)
            if value is not None:
                out[f"clv_{label}"] = out[f"expected_purchases_{label}"] * value
    bad = [c for c in out.columns if not np.all(np.isfinite(out[c].to_numpy(dtype=float)))]
    if bad:
        raise FitError(f"scores {bad} have non-finite values; refusing to publish them")
    return out
