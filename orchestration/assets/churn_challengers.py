"""The churn challengers inside the churn_scores asset: read the backtest inputs, run the
backtest (models/challengers.py; kept in the model store while its inputs stay the same),
fit its champion on the same inputs (kept likewise: refitted about weekly, when a feature
day's label completes), let it score today's rows, and record every candidate and fold in
churn_model_runs, the reliability tables in churn_model_calibration and the drift check's
verdict."""

import dataclasses
import functools
import importlib.metadata
from collections.abc import Callable

import numpy as np
import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity

from models import btyd, challengers
from models.churn import ChurnSettings, risk_band
from orchestration import model_store
from orchestration.model_settings import backtest_settings
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

FEATURES_TABLE = "intermediate.int_churn_features"
SUMMARIES_TABLE = "intermediate.int_churn_backtest_summaries"
CALIBRATION_TABLE = "marts.churn_model_calibration"
BACKTEST_MODEL = "churn_backtest"  # its name in the model store
CHAMPION_MODEL = "churn_champion"  # the champion's fit, keyed by the backtest's fingerprint
LABELLED = "is_churned is not null"
DRIFT_CHECK = "champion_not_drifting"
BACKTEST_METHOD = "backtest"  # churn_model_runs.method of the candidate x fold rows
FEATURE_COLUMNS = ["feature_date", "user_id", "is_churned", "is_scoring_day",
                   *[c for c in challengers.SUPERVISED_FEATURES
                     if c not in challengers.BTYD_FEATURES and c != "gap_trend_days"]]
CALIBRATION_COLUMNS = {
    "snapshot_date": "date", "candidate": "varchar", "bin": "bigint", "bin_lower": "double",
    "bin_upper": "double", "users": "bigint", "mean_predicted": "double",
    "observed_rate": "double", "is_champion": "boolean",
}
METRICS = ("auc", "average_precision", "brier", "log_loss", "ece", "top_decile_lift")


@dataclasses.dataclass
class ChallengerOutcome:
    scores: pd.DataFrame
    runs: pd.DataFrame  # candidate x fold rows for churn_model_runs
    calibration: pd.DataFrame
    champion: str | None
    reason: str
    drift: AssetCheckResult


class _Inputs:
    """The backtest's and the champion's inputs, each read when first needed: a day whose
    labelled data is unchanged reads only the scoring day's rows."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    @functools.cached_property
    def labelled(self) -> pd.DataFrame:
        return self.warehouse.query(
            f"select {', '.join(FEATURE_COLUMNS)} from {FEATURES_TABLE} "
            f"where {LABELLED} order by feature_date, user_id")

    @functools.cached_property
    def summaries(self) -> pd.DataFrame:
        return self.warehouse.query(
            f"select * from {SUMMARIES_TABLE} order by cutoff_date, user_id")

    @functools.cached_property
    def scoring(self) -> pd.DataFrame:
        return self.warehouse.query(f"select {', '.join(FEATURE_COLUMNS)} from {FEATURES_TABLE} "
                                    "where is_scoring_day order by user_id")

    @functools.cached_property
    def now(self) -> pd.DataFrame:
        return self.warehouse.query(f"select * from {SUMMARIES_TABLE} where is_scoring_day "
                                    "order by user_id")


def _backtest(context, warehouse: Warehouse, s: challengers.BacktestSettings, snapshot,
              inputs: _Inputs) -> tuple[challengers.Backtest, str]:
    """The backtest and the fingerprint of what it was fitted on (the labelled rows, the
    cut-offs' summaries, the settings)."""
    settings_key = {**dataclasses.asdict(s), "version": 3,
                    "scikit-learn": importlib.metadata.version("scikit-learn")}
    labelled_columns = [c for c in FEATURE_COLUMNS if c != "is_scoring_day"]
    key = model_store.rows_fingerprint(
        warehouse, FEATURES_TABLE, labelled_columns, LABELLED,
        {**settings_key, "summaries": model_store.rows_fingerprint(
            warehouse, SUMMARIES_TABLE, ["cutoff_date", "user_id", "frequency", "recency", "T"],
            "not is_scoring_day", {})})
    kept = model_store.load(warehouse, BACKTEST_MODEL, key)
    if kept is not None:
        context.log.info("churn backtest: inputs unchanged since %s; reusing it",
                         kept.trained_snapshot)
        return kept.fitted, key
    result = challengers.backtest(inputs.labelled, inputs.summaries, s)
    model_store.save(warehouse, BACKTEST_MODEL, key, result, snapshot, context.run_id)
    return result, key


class ChampionNotRefitted(Exception):
    """The backtest's champion cannot be fitted on the labelled data."""


Champion = tuple[challengers.Fitted, object]  # the fitted champion, its BG/NBD parameters


def fit_champion(result: challengers.Backtest, labelled: pd.DataFrame,
                 summaries: pd.DataFrame, s: challengers.BacktestSettings) -> Champion:
    """The backtest's champion fitted on everything labelled: every labelled feature row
    and the users' summaries as of the latest cut-off (BTYD parameters, the supervised
    model's BG/NBD features). A function of the backtest's own inputs, so it is refitted
    when they change (a feature day's label completing) and scores the days between."""
    days = challengers.fold_days(summaries)
    if not days:
        raise ChampionNotRefitted("no cut-off summaries")
    cutoff = summaries[pd.to_datetime(summaries["cutoff_date"]) == days[-1]]
    try:
        fitted, params = challengers.fit_champion(result.champion, labelled, cutoff, s)
    except (btyd.FitError, ValueError) as exc:  # the fit's own refusals, nothing after it
        raise ChampionNotRefitted(str(exc)) from exc
    return dataclasses.replace(fitted, summary=None), params  # scoring brings today's


def _kept_champion(context, warehouse: Warehouse, result: challengers.Backtest, key: str,
                   inputs: _Inputs, s: challengers.BacktestSettings, snapshot) -> Champion:
    """fit_champion's fit, kept in the model store under the backtest's fingerprint."""
    name = f"{key}:{result.champion}"
    kept = model_store.load(warehouse, CHAMPION_MODEL, name)
    if kept is not None:
        context.log.info("churn champion: labelled data unchanged since %s; scoring with "
                         "that day's fit", kept.trained_snapshot)
        return kept.fitted
    champion = fit_champion(result, inputs.labelled, inputs.summaries, s)
    model_store.save(warehouse, CHAMPION_MODEL, name, champion, snapshot, context.run_id)
    return champion


def champion_scores(result: challengers.Backtest, champion: Champion | None,
                    scoring: pd.DataFrame, now: pd.DataFrame, incumbent: pd.DataFrame,
                    s: challengers.BacktestSettings, cs: ChurnSettings) -> pd.DataFrame:
    """The incumbent's users with the champion's calibrated probability where the champion
    can score them (BTYD: every user with an active day, from their summary today;
    recency: every scored user; supervised: the scoring day's feature rows), the raw one
    and the top three drivers. `scoring`: the scoring day's feature rows; `now`: every
    user's summary today."""
    drivers = ["driver_1", "driver_2", "driver_3"]
    if result.champion is None or champion is None:
        return incumbent.assign(raw_probability=incumbent["churn_probability"],
                                **dict.fromkeys(drivers))
    fitted, params = champion
    if result.champion == "supervised":
        rows = challengers.with_btyd_features(scoring, params, s.horizon_days)
    elif result.champion == "recency":
        rows = incumbent[["user_id", "recency_days"]]
    else:
        fitted = dataclasses.replace(
            fitted, summary=now.set_index("user_id")[["frequency", "recency", "T"]])
        rows = incumbent[incumbent["user_id"].isin(now["user_id"])][["user_id"]]
    rows = rows.reset_index(drop=True)
    raw = fitted.predict(rows)
    calibrated = result.publish(result.champion, raw) if len(raw) else raw
    why = challengers.drivers(fitted, rows, raw)
    mine = pd.DataFrame({"user_id": rows["user_id"], "p": calibrated, "raw": raw}).join(why)
    scores = incumbent.merge(mine, on="user_id", how="left", validate="one_to_one")
    has = scores["p"].notna()
    scores["raw_probability"] = scores["churn_probability"].where(~has, scores["raw"])
    scores.loc[has, "churn_probability"] = scores.loc[has, "p"]
    scores.loc[has, "method"] = result.champion
    scores["risk_band"] = risk_band(scores["churn_probability"], scores["recency_days"],
                                    cs.churn_days, cs.medium_risk_min, cs.high_risk_min)
    return scores[[*incumbent.columns, "raw_probability", *drivers]]


def scores_or_fallback(result: challengers.Backtest, champion: Callable[[], Champion],
                       scoring: pd.DataFrame, now: pd.DataFrame, incumbent: pd.DataFrame,
                       s: challengers.BacktestSettings, cs: ChurnSettings,
                       ) -> tuple[pd.DataFrame, str | None, str]:
    """champion_scores, with the champion and the reason that scored. `champion()` gives
    the fitted champion (fit_champion); the backtest's champion fitted at its cut-offs,
    but may not on all the labelled data (a degenerate sample): then the incumbent
    (fallback) model's scores stand, and the reason says why."""
    if result.champion is None:
        return (champion_scores(result, None, scoring, now, incumbent, s, cs), None,
                result.reason)
    try:
        fitted = champion()
    except ChampionNotRefitted as exc:
        reason = (f"the backtest's champion {result.champion} could not be refitted on the "
                  f"labelled data: {exc}")
        return champion_scores(result, None, scoring, now, incumbent, s, cs), None, reason
    return (champion_scores(result, fitted, scoring, now, incumbent, s, cs),
            result.champion, result.reason)


def drift_check(history: pd.DataFrame, result: challengers.Backtest, margin: float,
                snapshot) -> AssetCheckResult:
    """WARN when the champion's latest-fold AUC is more than `margin` below the same
    candidate's latest-fold AUC of the previous run, or below recency's on the fold."""
    meta: dict = {"champion": result.champion or "none", "margin": margin}
    rows = result.rows
    if result.champion is None or rows.empty:
        return AssetCheckResult(check_name=DRIFT_CHECK, passed=True,
                                severity=AssetCheckSeverity.WARN,
                                metadata={**meta, "note": result.reason})
    ok = rows[rows["status"] == "ok"]
    last_fold = ok["fold"].max()
    latest = ok[ok["fold"] == last_fold].set_index("candidate")["auc"]
    auc = _number(latest.get(result.champion))
    baseline = _number(latest.get("recency"))
    meta.update(latest_fold_auc=auc, recency_auc=baseline)
    failures = []
    if auc is not None and baseline is not None and auc < baseline:
        failures.append(f"AUC {auc:.3f} below recency alone ({baseline:.3f})")
    before = history[(history["method"] == BACKTEST_METHOD)
                     & (history["candidate"] == result.champion)
                     & (pd.to_datetime(history["snapshot_date"]) < pd.Timestamp(snapshot))]
    if len(before) and auc is not None:
        previous_day = pd.to_datetime(before["snapshot_date"]).max()
        prev = before[pd.to_datetime(before["snapshot_date"]) == previous_day]
        prev = prev[prev["fold"] == prev["fold"].max()]["auc"].dropna()
        if len(prev):
            meta["previous_run_auc"] = float(prev.iloc[0])
            if auc < float(prev.iloc[0]) - margin:
                failures.append(f"AUC {auc:.3f} fell more than {margin:g} below the previous "
                                f"run's {float(prev.iloc[0]):.3f}")
    if failures:
        meta["message"] = f"champion {result.champion}: " + "; ".join(failures)
    return AssetCheckResult(check_name=DRIFT_CHECK, passed=not failures,
                            severity=AssetCheckSeverity.WARN,
                            metadata={k: v for k, v in meta.items() if v is not None})


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def run_rows(result: challengers.Backtest, snapshot, run_id: str) -> pd.DataFrame:
    """churn_model_runs rows (method backtest), one per candidate and fold."""
    rows = result.rows.copy()
    if rows.empty:
        return rows
    rows["snapshot_date"] = snapshot
    rows["method"] = BACKTEST_METHOD
    rows["scored_with"] = rows["candidate"]
    rows["test_day"] = rows["cutoff_date"]
    rows["test_churn_rate"] = rows.get("churn_rate")
    rows["model_auc"] = rows.get("auc")
    rows["run_id"] = run_id
    rows["recorded_at"] = pd.Timestamp.now(tz="UTC")
    for column in METRICS:
        if column not in rows:
            rows[column] = np.nan
    rows["raw_ece"] = rows.get("raw_ece", np.nan)
    rows["raw_brier"] = rows.get("raw_brier", np.nan)
    if "calibrated" not in rows:
        rows["calibrated"] = False
    if "is_champion" not in rows:
        rows["is_champion"] = False
    return rows


def calibration_rows(result: challengers.Backtest, snapshot) -> pd.DataFrame:
    table = result.calibration.copy()
    table.insert(0, "snapshot_date", snapshot)
    table["is_champion"] = table["candidate"] == result.champion
    return table


def run_challengers(context, warehouse: Warehouse, settings: Settings, snapshot,
                    incumbent: pd.DataFrame, cs: ChurnSettings) -> ChallengerOutcome:
    s = backtest_settings(settings.config)
    inputs = _Inputs(warehouse)
    result, key = _backtest(context, warehouse, s, snapshot, inputs)
    history = pd.DataFrame(columns=["method", "candidate", "snapshot_date", "fold", "auc"])
    if warehouse.exists("marts.churn_model_runs"):
        runs = warehouse.query("select * from marts.churn_model_runs")
        # a warehouse from before the challengers has no candidate rows yet
        history = runs.reindex(columns=list(history.columns)) if len(runs) else history
    drift = drift_check(history, result, settings.config.churn.drift_auc_margin, snapshot)
    scores, champion, reason = scores_or_fallback(
        result, lambda: _kept_champion(context, warehouse, result, key, inputs, s, snapshot),
        inputs.scoring, inputs.now, incumbent, s, cs)
    # a champion that could not be refitted is worth a warning, a chosen one a note
    say = context.log.info if champion == result.champion else context.log.warning
    say("churn champion: %s (%s)", champion, reason)
    return ChallengerOutcome(scores, run_rows(result, snapshot, context.run_id),
                             calibration_rows(result, snapshot), champion, reason, drift)
