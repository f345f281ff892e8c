"""The value tables on the real CDNOW sample (2,357 customers), end to end through the CLI.

The run covers 1997-01-01 .. 1998-06-30 with churn.holdout_days = 273, so the pipeline's
churn evaluation fits BG/NBD on weeks 1-39 (through 1997-09-30) and tests on weeks 40-78:
exactly the papers' calibration and holdout. Published numbers: see tests/test_btyd.py.
"""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from orchestration.cli import main
from tests import reference
from tests.conftest import read_table, write_config
from tests.test_btyd import calibration_summary, sig

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

SNAPSHOT = dt.date(1998, 6, 30)
ORDERS_ONLY_TABLES = [
    "marts.fct_revenue_daily", "marts.fct_repeat_purchase", "marts.dim_user_purchase_summary",
    "marts.user_rfm", "marts.user_clv", "marts.user_churn_scores", "marts.churn_model_runs",
    "marts.user_winback", "marts.dim_users",
]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cdnow_sample")
    land = root / "landing"
    assert main(["load-cdnow", "--sample", "--out", str(land), "-q"]) == 0
    cfg = write_config(root, land, start_date="1997-01-01", activity={"source": "orders"},
                       churn={"holdout_days": 273})
    assert main(["run", "--config", str(cfg), "-q"]) == 0
    return root / "warehouse.duckdb"


def _customer(user_id: str) -> int:
    return int(user_id[1:])


def reference_orders() -> pd.DataFrame:
    from tests.test_btyd import SAMPLE

    raw = pd.read_csv(SAMPLE, sep=r"\s+", header=None,
                      names=["master_id", "customer", "date", "cds", "amount"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return raw


def test_every_orders_only_table_is_built(sample_run):
    for table in ORDERS_ONLY_TABLES:
        assert len(read_table(sample_run, table, "1")) > 0, table
    users = read_table(sample_run, "marts.dim_users", "user_id")
    assert len(users) == 2357 and users["rfm11_segment"].notna().all()
    assert users["risk_band"].notna().all()


def test_calibration_summary_is_the_literature_input(sample_run):
    """The pipeline's own calibration summary (int_btyd_holdout, days) equals the pandas
    one for all 2,357 customers, and in weeks the rows the papers tabulate."""
    got = read_table(sample_run, "intermediate.int_btyd_holdout", "user_id")
    assert str(got["calibration_end"].iloc[0])[:10] == "1997-09-30"
    got.index = got["user_id"].map(_customer)
    want = calibration_summary()
    assert len(got) == len(want) == 2357
    got = got.loc[want.index]
    for col in ("frequency", "recency", "T"):
        assert (got[col].to_numpy() == want[col].to_numpy()).all(), col
    # money is rounded to 1e-6 in the summary (reproducible fits, see macros/value.sql)
    np.testing.assert_allclose(got["monetary_value"], want["monetary_value"], atol=1e-6)
    # customer 1 of FHL 2005's data: x = 2, t_x = 30.43, T = 38.86 weeks
    assert (got.loc[1, "frequency"], round(got.loc[1, "recency"] / 7, 2),
            round(got.loc[1, "T"] / 7, 2)) == (2, 30.43, 38.86)


def test_purchase_summary_as_of_the_snapshot(sample_run):
    got = read_table(sample_run, "marts.dim_user_purchase_summary", "user_id")
    got.index = got["user_id"].map(_customer)
    raw = reference_orders()
    days = raw.groupby(["customer", "date"], as_index=False)["amount"].sum()
    g = days.groupby("customer")
    first = g["date"].min()
    assert (got["frequency"] == (g.size() - 1).loc[got.index]).all()
    assert (got["recency"] == (g["date"].max() - first).dt.days.loc[got.index]).all()
    assert (got["T"] == (pd.Timestamp(SNAPSHOT) - first).dt.days.loc[got.index]).all()
    np.testing.assert_allclose(got["revenue"], raw.groupby("customer")["amount"].sum()
                               .loc[got.index], rtol=1e-9)


def test_pipeline_evaluation_fit_reproduces_published_bgnbd(sample_run):
    runs = read_table(sample_run, "marts.churn_model_runs", "snapshot_date",
                      "method <> 'backtest'")
    assert len(runs) == 1
    run = runs.iloc[0]
    assert (run["method"], run["status"]) == ("bgnbd", "ok")
    assert str(run["test_day"])[:10] == "1997-09-30"
    fit = json.loads(run["details"])
    # the pipeline fits in days: alpha per day x 7 = alpha per week
    assert (sig(fit["r"]), sig(fit["alpha"] / 7), sig(fit["a"]), sig(fit["b"])) == (
        0.243, 4.41, 0.793, 2.43)
    # both AUCs reported, whichever wins (the note states them)
    assert 0.5 < run["model_auc"] < 1 and 0.5 < run["baseline_auc"] < 1
    assert run["test_rows"] == 2357
    raw = reference_orders()
    bought = raw.loc[raw["date"] > pd.Timestamp("1997-09-30"), "customer"].nunique()
    assert run["test_churn_rate"] == pytest.approx(1 - bought / 2357)


def test_clv_scores_are_probabilities_and_finite(sample_run):
    clv = read_table(sample_run, "marts.user_clv", "user_id")
    assert len(clv) == 2357
    numeric = clv.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    for col in ("p_alive", "p_purchase_short", "p_purchase_long"):
        assert clv[col].between(0, 1).all(), col
    assert (clv.loc[clv["frequency"] == 0, "p_alive"] == 1).all()
    assert (clv["p_purchase_long"] >= clv["p_purchase_short"]).all()
    assert (clv["expected_purchases_long"] >= clv["expected_purchases_short"]).all()


def test_the_champion_scores_every_customer_calibrated(sample_run):
    """The published churn probability is the champion's, Platt-calibrated: a monotone
    map of its raw probability, which an independent fit reproduces (days, the sample's
    purchase days up to the snapshot)."""
    scores = read_table(sample_run, "marts.user_churn_scores", "user_id")
    summary = read_table(sample_run, "marts.churn_model_runs", "snapshot_date",
                         "method <> 'backtest'").iloc[0]
    champion = summary["scored_with"]
    assert champion in ("recency", "bgnbd", "pareto_nbd", "supervised")
    assert len(scores) == 2357 and (scores["method"] == champion).all()
    ordered = scores.sort_values(["raw_probability", "user_id"])
    assert ordered["churn_probability"].is_monotonic_increasing
    if champion in ("bgnbd", "pareto_nbd"):
        from models import btyd

        raw = reference_orders()
        days = raw.groupby(["customer", "date"], as_index=False)["amount"].sum()

        def summary(day: pd.Timestamp) -> pd.DataFrame:  # purchase days up to `day`
            g = days[days["date"] <= day].groupby("customer")
            return pd.DataFrame({"frequency": g.size() - 1,
                                 "recency": (g["date"].max() - g["date"].min()).dt.days,
                                 "T": (day - g["date"].min()).dt.days})

        # the champion's parameters are fitted at the latest cut-off, the scores use the
        # snapshot's summaries (docs/CHURN.md, Champion)
        folds = read_table(sample_run, "marts.churn_model_runs", "test_day",
                           "method = 'backtest' and status = 'ok'")
        fit = btyd.fit_bgnbd if champion == "bgnbd" else btyd.fit_pareto_nbd
        params, _ = fit(summary(pd.Timestamp(folds["test_day"].max())))
        ref = summary(pd.Timestamp(SNAPSHOT))
        p = (btyd.prob_no_purchase if champion == "bgnbd" else btyd.pnbd_prob_no_purchase)(
            params, ref, 30)
        got = scores.set_index(scores["user_id"].map(_customer))["raw_probability"]
        np.testing.assert_allclose(got.loc[ref.index], p, rtol=1e-3, atol=1e-4)
        assert scores["driver_1"].str.startswith("p_alive=").all()


def test_every_candidate_meets_on_the_same_folds(sample_run):
    rows = read_table(sample_run, "marts.churn_model_runs", "fold, candidate",
                      "method = 'backtest'")
    assert set(rows["candidate"]) == {"recency", "bgnbd", "pareto_nbd", "supervised"}
    ok = rows[rows["status"] == "ok"]
    per_fold = ok.groupby("fold")["candidate"].nunique()
    assert len(per_fold) >= 3 and (per_fold == 4).all()
    # the same test users for every candidate, and the label windows never overlap a
    # later cut-off's training (35 days apart, horizon 30)
    assert (ok.groupby("fold")["test_rows"].nunique() == 1).all()
    cutoffs = pd.to_datetime(ok["cutoff_date"].drop_duplicates()).sort_values()
    assert (cutoffs.diff().dropna() == pd.Timedelta(days=35)).all()
    assert ok["is_champion"].sum() == ok["fold"].nunique()
    for column in ("auc", "average_precision", "brier", "log_loss", "ece", "top_decile_lift"):
        assert ok[column].notna().all(), column
    calibration = read_table(sample_run, "marts.churn_model_calibration", "candidate, bin")
    assert set(calibration["candidate"]) == set(ok["candidate"])
    assert (calibration.groupby("candidate")["users"].sum()
            == ok.groupby("candidate")["test_rows"].sum()).all()


def test_winback_is_ranked_value_times_return(sample_run):
    wb = read_table(sample_run, "marts.user_winback", "winback_rank")
    assert set(wb["risk_band"]) <= {"churned", "high"}
    assert (wb["winback_rank"] == np.arange(1, len(wb) + 1)).all()
    np.testing.assert_allclose(wb["priority"], wb["value"] * wb["p_return"])
    assert wb["priority"].is_monotonic_decreasing
    assert wb["rfm11_action"].notna().all()


def test_repeat_purchase_against_pandas(sample_run):
    rp = read_table(sample_run, "marts.fct_repeat_purchase", "cohort_month nulls last")
    overall = rp[rp["cohort_month"].isna()].iloc[0]
    raw = reference_orders()
    days = raw.groupby(["customer", "date"], as_index=False).size()
    days["n"] = days.groupby("customer").cumcount() + 1
    first = days[days["n"] == 1].set_index("customer")["date"]
    second = days[days["n"] == 2].set_index("customer")["date"].reindex(first.index)
    third = days[days["n"] == 3].set_index("customer")["date"].reindex(first.index)
    gap = (second - first).dt.days
    assert overall["buyers"] == 2357
    assert overall["repeat_rate_short"] == pytest.approx((gap <= 30).mean())
    assert overall["repeat_rate_long"] == pytest.approx((gap <= 90).mean())
    assert overall["second_buyers"] == second.notna().sum()
    third_rate = third.notna().sum() / second.notna().sum()
    assert overall["second_to_third_rate"] == pytest.approx(third_rate)
    assert overall["median_days_to_second"] == gap.median()


def test_lifecycle_stages_against_pandas(sample_run):
    """Sparse real purchase histories over 546 days: churn, reactivation and the
    look backs, per user and day, against the rules run day by day in pandas. Every
    fourth customer (the rules are per user), then the day counts and transitions of
    every customer."""
    raw = reference_orders()
    days = raw.groupby(["customer", "date"], as_index=False).size()
    ids = read_table(sample_run, "marts.dim_users", "user_id")["user_id"]
    user_of = {_customer(u): u for u in ids}
    units = pd.DataFrame({"user_id": days["customer"].map(user_of),
                          "activity_date": days["date"].dt.date, "units": 1})
    ref = reference.lifecycle_daily(units, SNAPSHOT)
    got = read_table(sample_run, "marts.fct_user_lifecycle_daily", "user_id, activity_date")
    got["activity_date"] = pd.to_datetime(got["activity_date"]).dt.date
    sample = ref["user_id"].map(_customer) % 4 == 0
    mine = got[got["user_id"].map(_customer) % 4 == 0].reset_index(drop=True)
    expected = ref[sample].sort_values(["user_id", "activity_date"]).reset_index(drop=True)
    assert len(mine) == len(expected)
    for col in ["activity_date", "user_id", "lifecycle_stage", "engagement_cur",
                "engagement_prev"]:
        assert mine[col].tolist() == expected[col].tolist(), col
    assert mine["previous_stage"].fillna("none").tolist() == \
        expected["previous_stage"].fillna("none").tolist()
    assert set(ref["lifecycle_stage"]) == {"new", "growing", "mature", "declining", "churned",
                                           "reactivated"}  # fmt: skip

    counts = read_table(sample_run, "marts.fct_lifecycle_stage_counts",
                        "activity_date, lifecycle_stage", "breakdown = 'all'")
    ref_counts = ref.groupby(["activity_date", "lifecycle_stage"]).size()
    assert len(counts) == len(ref_counts)
    assert counts["users"].tolist() == ref_counts.tolist()
    moves = read_table(sample_run, "marts.fct_lifecycle_transitions",
                       "activity_date, from_stage, to_stage")
    ref["from_stage"] = ref["previous_stage"].fillna("none")
    ref_moves = ref.groupby(["activity_date", "from_stage", "lifecycle_stage"]).size()
    assert moves["users"].tolist() == ref_moves.tolist()
    assert moves["is_change"].tolist() == [
        f != t for _, f, t in ref_moves.index]  # fmt: skip
