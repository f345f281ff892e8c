"""Value scoring assets: RFM, BTYD customer value, churn scores and the win-back list.

The models are pure functions in models/; these assets read their inputs from the
warehouse (dbt tables as of the snapshot day), call them, and write one table each through
the warehouse resource. A model that falls back (a degenerate fit, one label class) still
publishes its stated fallback; a WARN check on the asset says so, with the reason.
"""

import dataclasses
import importlib.metadata
import json

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    ResourceParam,
    asset,
    multi_asset,
)

from models import churn, rfm
from models.value import ModelRun, score_clv
from orchestration import model_store
from orchestration.assets import churn_challengers as challengers
from orchestration.dbt.helpers import read_built_through
from orchestration.model_settings import churn_settings
from orchestration.resources import WAREHOUSE_POOL, python_kinds
from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

RFM_KEY = AssetKey(["marts", "user_rfm"])
CLV_KEY = AssetKey(["marts", "user_clv"])
VALUE_RUNS_KEY = AssetKey(["marts", "value_model_runs"])
CHURN_KEY = AssetKey(["marts", "user_churn_scores"])
RUNS_KEY = AssetKey(["marts", "churn_model_runs"])
CALIBRATION_KEY = AssetKey(["marts", "churn_model_calibration"])
WINBACK_KEY = AssetKey(["marts", "user_winback"])
# the dbt view that joins the scores for the win-back ranking (tag scored)
WINBACK_CANDIDATES_KEY = AssetKey(["intermediate", "int_winback_candidates"])
FIT_CHECK = "models_fit_cleanly"
CHURN_MODEL = "churn_supervised"  # its name in the model store

# History tables: one row per snapshot day and model, replaced on rerun. New columns go
# at the end, so warehouses built before them take them in place (upsert adds them).
CHURN_RUNS_COLUMNS = {
    "snapshot_date": "date", "method": "varchar", "status": "varchar", "message": "varchar",
    "test_day": "date", "train_first_day": "date", "train_last_day": "date",
    "train_rows": "bigint", "test_rows": "bigint", "test_churn_rate": "double",
    "model_auc": "double", "baseline_auc": "double", "details": "varchar",
    "run_id": "varchar", "recorded_at": "timestamptz", "scored_with": "varchar",
    "model_trained_on": "date", "high_risk_share": "double",
    # the challengers (method backtest): one row per candidate and fold
    "candidate": "varchar", "fold": "bigint", "cutoff_date": "date", "auc": "double",
    "average_precision": "double", "brier": "double", "log_loss": "double", "ece": "double",
    "top_decile_lift": "double", "calibrated": "boolean", "raw_ece": "double",
    "raw_brier": "double", "is_champion": "boolean",
}
VALUE_RUNS_COLUMNS = {
    "snapshot_date": "date", "model": "varchar", "status": "varchar", "method": "varchar",
    "reason": "varchar", "customers": "bigint", "log_likelihood": "double",
    "params": "varchar", "run_id": "varchar", "recorded_at": "timestamptz",
}


def uses_events(warehouse: ResourceParam[Warehouse]) -> bool:
    """The decision of the dbt macro uses_events, read from its one-row model."""
    frame = warehouse.query("select uses_events from intermediate.int_activity_source")
    return bool(frame["uses_events"].iloc[0])


def _fit_check(runs: list[dict]) -> AssetCheckResult:
    """WARN when a model did not fit cleanly: the scores come from its fallback, or none."""
    fallbacks = [r for r in runs if r["status"] != "ok"]
    return AssetCheckResult(
        check_name=FIT_CHECK,
        passed=not fallbacks,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "fallbacks": len(fallbacks),
            **{f"{r['name']}": f"{r['status']}: {r['reason']}" for r in fallbacks},
        },
    )


def _fit_check_spec(key: AssetKey) -> AssetCheckSpec:
    return AssetCheckSpec(
        FIT_CHECK, asset=key,
        description="WARN when a model's fit was degenerate or skipped and its stated "
        "fallback (population mean spend, recency, base rate, or no score) was published.")


def build_value_assets(settings: Settings):
    cfg = settings.config
    horizons = {"short": cfg.churn.horizon_days, "long": cfg.churn.long_horizon_days}
    settings_ = churn_settings(cfg)

    @asset(
        key=RFM_KEY,
        deps=[AssetKey(["intermediate", "int_user_rfm_measures"]),
              AssetKey(["reference", "rfm_segment_actions"])],
        group_name="scores", kinds=python_kinds(settings), pool=WAREHOUSE_POOL,
        description="Per user with an R event: R, F, M, 1-5 scores, rfm11 and cn8 segments "
        "(with Chinese names) and each segment's recommended action.",
    )
    def user_rfm(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        measures = warehouse.query(
            "select snapshot_date, user_id, recency_days, frequency, monetary "
            "from intermediate.int_user_rfm_measures order by user_id")
        actions = warehouse.query(
            "select scheme, segment, segment_name_zh, action from reference.rfm_segment_actions")
        scored = rfm.score_rfm(measures) if len(measures) else measures
        out = _attach_actions(scored, actions)
        warehouse.replace("marts.user_rfm", out)
        counts = out["rfm11_segment"].value_counts().to_dict() if len(out) else {}
        context.log.info("RFM: %d users", len(out))
        return MaterializeResult(metadata={
            "rows": len(out), **{f"rfm11_{k}": int(v) for k, v in counts.items()}})

    @multi_asset(
        specs=[
            AssetSpec(CLV_KEY, group_name="scores", kinds=python_kinds(settings),
                      deps=[AssetKey(["marts", "dim_user_purchase_summary"])],
                      description="Per buyer: BG/NBD P(alive), expected purchases and P(at "
                      "least one purchase) over the churn horizons, expected average value "
                      "(Gamma-Gamma, or the population mean when spend does not differ "
                      "between customers: value_method) and CLV."),
            AssetSpec(VALUE_RUNS_KEY, group_name="scores", kinds=python_kinds(settings),
                      description="Per snapshot day and value model (bgnbd, gamma_gamma): "
                      "status (ok, degenerate, skipped), the method the scores use, the "
                      "reason, parameters and log-likelihood."),
        ],
        check_specs=[_fit_check_spec(CLV_KEY)],
        pool=WAREHOUSE_POOL,
    )
    def user_clv(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        summary = warehouse.query(
            'select snapshot_date, user_id, frequency, recency, T, monetary_value '
            "from marts.dim_user_purchase_summary order by user_id")
        snapshot = read_built_through(warehouse)
        result = score_clv(summary, horizons, cfg.value.min_repeat_buyers)
        warehouse.replace("marts.user_clv", result.scores)
        warehouse.upsert("marts.value_model_runs",
                         _value_runs(snapshot, result.runs, context.run_id),
                         keys=("snapshot_date", "model"), columns=VALUE_RUNS_COLUMNS)
        context.log.info("CLV: %d buyers; %s", len(result.scores), result.metadata)
        yield MaterializeResult(asset_key=CLV_KEY,
                                metadata={"rows": len(result.scores), **result.metadata})
        yield MaterializeResult(asset_key=VALUE_RUNS_KEY, metadata={
            r.model: f"{r.status} ({r.method})" for r in result.runs})
        yield _fit_check([{"name": r.model, "status": r.status, "reason": r.reason}
                          for r in result.runs])

    @multi_asset(
        specs=[
            AssetSpec(CHURN_KEY, group_name="scores", kinds=python_kinds(settings),
                      deps=[AssetKey(["intermediate", "int_churn_features"]),
                            AssetKey(["intermediate", "int_btyd_holdout"]),
                            AssetKey(["intermediate", "int_activity_source"]),
                            AssetKey(["marts", "dim_user_purchase_summary"]), CLV_KEY],
                      description="Per user: churn probability, risk band and the method "
                      "that scored it (supervised for event data, BG/NBD for orders-only "
                      "data; recency or the base rate when those cannot be fitted)."),
            AssetSpec(RUNS_KEY, group_name="scores", kinds=python_kinds(settings),
                      deps=[AssetKey(["intermediate", "int_churn_backtest_summaries"])],
                      description="Per run: the churn model's holdout AUC next to a "
                      "recency-only baseline's, its status and what scored the users; and "
                      "one row per challenger and backtest fold (method backtest) with "
                      "AUC, average precision, Brier, log loss, calibration error, lift "
                      "and the champion. Reliability tables: churn_model_calibration."),
            AssetSpec(CALIBRATION_KEY, group_name="scores", kinds=python_kinds(settings),
                      description="Per run and challenger: the reliability table of its "
                      "backtest probabilities pooled over the folds (10 bins: users, mean "
                      "predicted, observed churn rate)."),
        ],
        check_specs=[_fit_check_spec(CHURN_KEY), AssetCheckSpec(
            challengers.DRIFT_CHECK, asset=CHURN_KEY,
            description="WARN when the champion's latest backtest AUC falls more than "
            "churn.drift_auc_margin below its previous run's, or below recency alone's.")],
        pool=WAREHOUSE_POOL,
    )
    def churn_scores(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        snapshot = read_built_through(warehouse)
        trained_on = snapshot
        if uses_events(warehouse):
            run, model, trained_on = _event_model(context, warehouse, snapshot)
            scoring = warehouse.query("select * from intermediate.int_churn_features "
                                      "where is_scoring_day order by user_id")
            scores = churn.event_scores(run, model, scoring, settings_)
        else:
            run, scores = churn.score_buyers(
                warehouse.query('select calibration_end, user_id, frequency, recency, T, '
                                "holdout_purchase_days from intermediate.int_btyd_holdout "
                                "order by user_id"),
                warehouse.query('select user_id, recency, T '
                                "from marts.dim_user_purchase_summary order by user_id"),
                warehouse.query("select user_id, p_purchase_short from marts.user_clv "
                                "order by user_id"),
                settings_)
        outcome = challengers.run_challengers(context, warehouse, settings, snapshot, scores,
                                              settings_)
        scores = outcome.scores
        if outcome.champion is not None:
            run.scored_with = outcome.champion
            run.message += f"; champion {outcome.champion}: {outcome.reason}"
        else:
            run.message += f"; no champion ({outcome.reason}): the model above scored"
        scores.insert(0, "snapshot_date", snapshot)
        warehouse.replace("marts.user_churn_scores", scores)
        warehouse.upsert("marts.churn_model_runs",
                         _churn_run_row(snapshot, run, context.run_id, trained_on, scores),
                         keys=("snapshot_date", "method"), columns=CHURN_RUNS_COLUMNS)
        if not outcome.runs.empty:
            warehouse.upsert("marts.churn_model_runs",
                             outcome.runs.reindex(columns=list(CHURN_RUNS_COLUMNS)),
                             keys=("snapshot_date", "method"), columns=CHURN_RUNS_COLUMNS)
        warehouse.upsert("marts.churn_model_calibration",
                         outcome.calibration.reindex(
                             columns=list(challengers.CALIBRATION_COLUMNS)),
                         keys=("snapshot_date",), columns=challengers.CALIBRATION_COLUMNS)
        metadata = {k: v for k, v in run.as_row().items() if v is not None}
        metadata = {k: (str(v) if not isinstance(v, int | float) else v)
                    for k, v in metadata.items()}
        metadata.update({f"fit_{k}": v for k, v in run.details.items()})
        context.log.info("churn (%s, scored with %s): %s", run.method, run.scored_with, metadata)
        yield MaterializeResult(asset_key=CHURN_KEY, metadata={"rows": len(scores), **metadata})
        yield MaterializeResult(asset_key=RUNS_KEY, metadata=metadata)
        yield MaterializeResult(asset_key=CALIBRATION_KEY, metadata={
            "champion": outcome.champion or "none", "reason": outcome.reason,
            "rows": len(outcome.calibration)})
        yield _fit_check([{"name": f"churn_{run.method}", "status": run.status,
                           "reason": run.message}])
        yield outcome.drift

    training_settings = {**dataclasses.asdict(settings_), "version": churn.TRAINING_VERSION,
                         "scikit-learn": importlib.metadata.version("scikit-learn")}

    def _event_model(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse], snapshot):
        """The supervised model for these training rows: the kept one when its fingerprint
        matches (orchestration/model_store.py), else trained now and kept."""
        labelled = "is_churned is not null"
        key = model_store.rows_fingerprint(
            warehouse, "intermediate.int_churn_features", churn.TRAINING_COLUMNS, labelled,
            training_settings)
        kept = model_store.load(warehouse, CHURN_MODEL, key)
        if kept is not None:
            run, model = kept.fitted
            context.log.info("churn: training rows unchanged since %s; scoring with that "
                             "day's model", kept.trained_snapshot)
            return run, model, kept.trained_snapshot
        rows = warehouse.query(
            f"select {', '.join(churn.TRAINING_COLUMNS)} from intermediate.int_churn_features "
            f"where {labelled} order by feature_date, user_id")
        run, model = churn.train_event_model(rows, settings_)
        model_store.save(warehouse, CHURN_MODEL, key, (run, model), snapshot, context.run_id)
        return run, model, snapshot

    @asset(
        key=WINBACK_KEY,
        deps=[WINBACK_CANDIDATES_KEY],
        group_name="scores", kinds=python_kinds(settings), pool=WAREHOUSE_POOL,
        description="Churned and high-risk users ranked by value x probability of return, "
        "with their RFM segment and its recommended action.",
    )
    def user_winback(context: AssetExecutionContext, warehouse: ResourceParam[Warehouse]):
        candidates = warehouse.query(
            "select * from intermediate.int_winback_candidates order by user_id")
        ranked = churn.winback_list(candidates, cfg.churn.winback_min_probability)
        warehouse.replace("marts.user_winback", ranked)
        context.log.info("win-back list: %d users", len(ranked))
        return MaterializeResult(metadata={
            "rows": len(ranked),
            "churned": int((ranked["risk_band"] == "churned").sum()),
            "high_risk": int((ranked["risk_band"] == "high").sum()),
        })

    return [user_rfm, user_clv, churn_scores, user_winback]


def _value_runs(snapshot, runs: list[ModelRun], run_id: str) -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame([{
        "snapshot_date": snapshot, "model": r.model, "status": r.status, "method": r.method,
        "reason": r.reason, "customers": r.customers, "log_likelihood": r.log_likelihood,
        "params": json.dumps(r.params, sort_keys=True), "run_id": run_id, "recorded_at": now,
    } for r in runs])


def high_risk_share(scores: pd.DataFrame) -> float | None:
    """Share of the high-risk band among the scored users not yet churned (the number the
    alert high_risk_share_jump follows); None without such users."""
    alive = scores[scores["risk_band"] != "churned"]
    return float((alive["risk_band"] == "high").mean()) if len(alive) else None


def _churn_run_row(snapshot, run: churn.ChurnRun, run_id: str, trained_on,
                   scores: pd.DataFrame) -> pd.DataFrame:
    row = run.as_row()
    row.update(snapshot_date=snapshot, details=json.dumps(run.details, sort_keys=True),
               run_id=run_id, recorded_at=pd.Timestamp.now(tz="UTC"),
               model_trained_on=trained_on, high_risk_share=high_risk_share(scores))
    return pd.DataFrame([{c: row.get(c) for c in CHURN_RUNS_COLUMNS}])


RFM_COLUMNS = {
    "snapshot_date": "datetime64[s]", "user_id": "str", "recency_days": "int64",
    "frequency": "int64", "monetary": "float64", "r_score": "int64", "f_score": "int64",
    "m_score": "int64", "rfm_score": "str", "rfm11_segment": "str", "is_recent": "bool",
    "is_high_frequency": "bool", "is_high_monetary": "bool", "cn8_segment": "str",
    "rfm11_segment_zh": "str", "rfm11_action": "str", "cn8_segment_zh": "str",
    "cn8_action": "str",
}


def _attach_actions(scored: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    if scored.empty:  # typed, so the table keeps its column types with no users
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in RFM_COLUMNS.items()})
    out = scored
    for scheme in ("rfm11", "cn8"):
        table = actions[actions["scheme"] == scheme].rename(columns={
            "segment": f"{scheme}_segment", "segment_name_zh": f"{scheme}_segment_zh",
            "action": f"{scheme}_action"}).drop(columns="scheme")
        out = out.merge(table, on=f"{scheme}_segment", how="left", validate="many_to_one")
        missing = out[f"{scheme}_action"].isna()
        if missing.any():
            example = out.loc[missing, f"{scheme}_segment"].iloc[0]
            raise ValueError(f"seed rfm_segment_actions has no {scheme} row for {example!r}")
    return out
