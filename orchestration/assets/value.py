"""Value scoring assets: RFM, BTYD customer value, churn scores and the win-back list.

The models are pure functions in models/; these assets read their inputs from the
warehouse (dbt tables as of the snapshot day), call them, and replace one table each.
"""

import json
import logging
from functools import partial

import duckdb
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    asset,
    multi_asset,
)

from models import btyd, churn, rfm
from orchestration.dbt_helpers import read_built_through
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.settings import Settings

log = logging.getLogger(__name__)

RFM_KEY = AssetKey(["marts", "user_rfm"])
CLV_KEY = AssetKey(["marts", "user_clv"])
CHURN_KEY = AssetKey(["marts", "user_churn_scores"])
RUNS_KEY = AssetKey(["marts", "churn_model_runs"])
WINBACK_KEY = AssetKey(["marts", "user_winback"])

RUNS_DDL = """
create table if not exists marts.churn_model_runs (
    snapshot_date date, method varchar, status varchar, message varchar, test_day date,
    train_first_day date, train_last_day date, train_rows bigint, test_rows bigint,
    test_churn_rate double, model_auc double, baseline_auc double, details varchar,
    run_id varchar, recorded_at timestamptz
)"""


def replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame,
                  dates: tuple[str, ...] = ("snapshot_date",)) -> None:
    """Replace `table` with `frame` in one transaction (readers see old or new, never half)."""
    casts = ", ".join(f"cast({c} as date) as {c}" for c in dates if c in frame.columns)
    select = f"select * replace ({casts}) from _frame" if casts else "select * from _frame"
    con.register("_frame", frame)
    try:
        con.execute("begin transaction")
        con.execute(f"create or replace table {table} as {select}")
        con.execute("commit")
    finally:
        con.unregister("_frame")


def uses_events(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    """The same rule as the dbt macro uses_events: auto = events when any event landed."""
    if source != "auto":
        return source == "events"
    return bool(con.execute("select exists (select 1 from staging.stg_app__events)").fetchone()[0])


def build_value_assets(settings: Settings):
    cfg = settings.config
    horizons = (cfg.churn.horizon_days, cfg.churn.long_horizon_days)
    # Snapshot tables (as of the latest day built), so not partitioned: a run over many
    # days materialises each once instead of once per day.
    scores_asset = partial(asset, group_name="scores", kinds={"python", "duckdb"},
                           pool=WAREHOUSE_POOL)

    @scores_asset(
        key=RFM_KEY,
        deps=[AssetKey(["intermediate", "int_user_rfm_measures"]),
              AssetKey(["reference", "rfm_segment_actions"])],
        description="Per user with an R event: R, F, M, 1-5 scores, rfm11 and cn8 segments "
        "(with Chinese names) and each segment's recommended action.",
    )
    def user_rfm(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as con:
            measures = con.execute(
                "select snapshot_date, user_id, recency_days, frequency, monetary "
                "from intermediate.int_user_rfm_measures order by user_id"
            ).df()
            actions = con.execute(
                "select scheme, segment, segment_name_zh, action "
                "from reference.rfm_segment_actions"
            ).df()
            scored = rfm.score_rfm(measures) if len(measures) else measures
            out = _attach_actions(scored, actions)
            replace_table(con, "marts.user_rfm", out)
        counts = out["rfm11_segment"].value_counts().to_dict() if len(out) else {}
        context.log.info("RFM: %d users", len(out))
        return MaterializeResult(metadata={
            "rows": len(out), **{f"rfm11_{k}": int(v) for k, v in counts.items()}})

    @scores_asset(
        key=CLV_KEY,
        deps=[AssetKey(["marts", "dim_user_purchase_summary"])],
        description="Per buyer: BG/NBD P(alive), expected purchases and P(at least one "
        "purchase) over the churn horizons, Gamma-Gamma expected average value and CLV.",
    )
    def user_clv(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as con:
            summary = con.execute(
                'select snapshot_date, user_id, frequency, recency, "T", monetary_value '
                "from marts.dim_user_purchase_summary order by user_id"
            ).df()
            out, metadata = _score_clv(summary, horizons, cfg.value.min_repeat_buyers)
            replace_table(con, "marts.user_clv", out)
        context.log.info("CLV: %d buyers; %s", len(out), metadata)
        return MaterializeResult(metadata={"rows": len(out), **metadata})

    @multi_asset(
        specs=[
            AssetSpec(CHURN_KEY, group_name="scores", kinds={"python", "duckdb"},
                      deps=[AssetKey(["intermediate", "int_churn_features"]),
                            AssetKey(["intermediate", "int_btyd_holdout"]), CLV_KEY],
                      description="Per user: churn probability and risk band (supervised "
                      "for event data, BG/NBD for orders-only data)."),
            AssetSpec(RUNS_KEY, group_name="scores", kinds={"python", "duckdb"},
                      description="Per run: the churn model's holdout AUC next to a "
                      "recency-only baseline's."),
        ],
        pool=WAREHOUSE_POOL,
    )
    def churn_scores(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as con:
            snapshot = read_built_through(con)
            if uses_events(con, cfg.activity.source):
                run, scores = _supervised(con, cfg)
            else:
                run, scores = _probabilistic(con, cfg)
            scores.insert(0, "snapshot_date", snapshot)
            replace_table(con, "marts.user_churn_scores", scores)
            _record_run(con, snapshot, run, context.run_id)
        metadata = {k: v for k, v in run.as_row().items() if v is not None}
        metadata = {k: (str(v) if not isinstance(v, int | float) else v)
                    for k, v in metadata.items()}
        metadata.update({f"fit_{k}": v for k, v in run.details.items()})
        context.log.info("churn (%s): %s", run.method, metadata)
        yield MaterializeResult(asset_key=CHURN_KEY, metadata={"rows": len(scores), **metadata})
        yield MaterializeResult(asset_key=RUNS_KEY, metadata=metadata)

    @scores_asset(
        key=WINBACK_KEY,
        deps=[CHURN_KEY, CLV_KEY, RFM_KEY],
        description="Churned and high-risk users ranked by value x probability of return, "
        "with their RFM segment and its recommended action.",
    )
    def user_winback(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect() as con:
            candidates = con.execute(WINBACK_SQL).df()
            ranked = churn.winback_list(candidates, cfg.churn.winback_min_probability)
            replace_table(con, "marts.user_winback", ranked)
        context.log.info("win-back list: %d users", len(ranked))
        return MaterializeResult(metadata={
            "rows": len(ranked),
            "churned": int((ranked["risk_band"] == "churned").sum()),
            "high_risk": int((ranked["risk_band"] == "high").sum()),
        })

    return [user_rfm, user_clv, churn_scores, user_winback]


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


CLV_SCORES = (
    "p_alive", "expected_average_value", "expected_purchases_short", "p_purchase_short",
    "clv_short", "expected_purchases_long", "p_purchase_long", "clv_long",
    "short_horizon_days", "long_horizon_days",
)


def _score_clv(summary: pd.DataFrame, horizons: tuple[int, int], min_repeat_buyers: int):
    """Fit and score; with too few repeat buyers to identify the models, publish no scores
    and say so (a young product is not an error). A fit that fails on enough data raises."""
    short, long = horizons
    base = summary.set_index("user_id")
    repeaters = int((base["frequency"] > 0).sum())
    if repeaters < min_repeat_buyers:
        empty = summary.iloc[0:0].copy()
        for col in CLV_SCORES:
            empty[col] = pd.Series(dtype="float64")
        status = f"skipped: {repeaters} repeat buyers, the fit needs {min_repeat_buyers}"
        log.warning("user_clv %s", status)
        return empty, {"status": status, "buyers": len(summary)}
    bg, bg_diag = btyd.fit_bgnbd(base)
    gg, gg_diag = btyd.fit_gamma_gamma(base)
    scores = btyd.score_customers(bg, gg, base, {"short": short, "long": long})
    out = base.join(scores).reset_index()
    out["short_horizon_days"] = short
    out["long_horizon_days"] = long
    metadata = {"status": "fitted", **bg_diag.as_metadata(), **gg_diag.as_metadata()}
    return out, metadata


def _supervised(con, cfg):
    features = con.execute(
        "select * from intermediate.int_churn_features order by feature_date, user_id"
    ).df()
    run, scored = churn.supervised_churn(
        features, cfg.churn.horizon_days, cfg.churn.min_training_rows, cfg.lifecycle.churn_days)
    scores = scored[["user_id", "recency_days", "tier", "channel", "churn_probability"]].copy()
    scores["method"] = "supervised"
    scores["risk_band"] = churn.risk_band(
        scores["churn_probability"], scores["recency_days"], cfg.lifecycle.churn_days,
        cfg.churn.medium_risk_min, cfg.churn.high_risk_min)
    return run, scores.reset_index(drop=True)


def _probabilistic(con, cfg):
    calibration = con.execute(
        'select user_id, frequency, recency, "T", holdout_purchase_days '
        "from intermediate.int_btyd_holdout order by user_id"
    ).df()
    run = churn.btyd_holdout_evaluation(calibration, cfg.churn.evaluation_holdout_days)
    if run.status == "ok":
        # calibration ends on test_day; the holdout is the days after it
        run.test_day = run.train_last_day = con.execute(
            "select max(calibration_end) from intermediate.int_btyd_holdout").fetchone()[0]
    clv = con.execute(
        'select user_id, "T" - recency as recency_days, p_purchase_short '
        "from marts.user_clv order by user_id"
    ).df()
    scores = pd.DataFrame({
        "user_id": clv["user_id"],
        "recency_days": clv["recency_days"].astype("int64"),
        "tier": pd.Series([None] * len(clv), dtype="object"),
        "channel": pd.Series([None] * len(clv), dtype="object"),
        "churn_probability": 1.0 - clv["p_purchase_short"].astype(float),
        "method": "bgnbd",
    })
    scores["risk_band"] = churn.risk_band(
        scores["churn_probability"], scores["recency_days"], cfg.lifecycle.churn_days,
        cfg.churn.medium_risk_min, cfg.churn.high_risk_min)
    return run, scores


def _record_run(con, snapshot, run: churn.ChurnRun, run_id: str) -> None:
    """Keep one row per snapshot day and method: a rerun replaces its own row."""
    row = run.as_row()
    con.execute("begin transaction")
    con.execute(RUNS_DDL)
    con.execute("delete from marts.churn_model_runs where snapshot_date = ? and method = ?",
                [snapshot, run.method])
    con.execute(
        "insert into marts.churn_model_runs values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [snapshot, row["method"], row["status"], row["message"], row["test_day"],
         row["train_first_day"], row["train_last_day"], row["train_rows"], row["test_rows"],
         row["test_churn_rate"], row["model_auc"], row["baseline_auc"],
         json.dumps(run.details, sort_keys=True), run_id],
    )
    con.execute("commit")


# Win-back candidates: scored users with value (CLV over the long horizon for buyers the
# BTYD model covers, else lifetime revenue) and probability of return = 1 - churn.
WINBACK_SQL = """
select
    s.snapshot_date,
    s.user_id,
    s.risk_band,
    s.churn_probability,
    1 - s.churn_probability as p_return,
    s.recency_days,
    coalesce(c.clv_long, p.revenue, 0) as value,
    coalesce(p.revenue, 0) as lifetime_revenue,
    r.rfm11_segment,
    r.rfm11_segment_zh,
    r.rfm11_action,
    r.cn8_segment,
    r.cn8_segment_zh,
    r.cn8_action
from marts.user_churn_scores as s
left join marts.user_clv as c on s.user_id = c.user_id
left join marts.dim_user_purchase_summary as p on s.user_id = p.user_id
left join marts.user_rfm as r on s.user_id = r.user_id
order by s.user_id
"""
