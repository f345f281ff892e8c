"""Supervised churn scoring and the value tables on generated event data.

The generator knows when each user churns (_truth/users_truth.parquet), so the labels the
pipeline trains on can be checked against the truth; the AUCs are reported, not tuned.
"""

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models import rfm
from sample_data.generator import GeneratorParams, generate, write_landing
from tests.conftest import make_settings, read_table, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

PARAMS = GeneratorParams(users=800, days=75, seed=21, start=dt.date(2025, 1, 1))
HORIZON = 14
LAST = PARAMS.start + dt.timedelta(days=PARAMS.days - 1)


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("churn")
    data = generate(PARAMS)
    write_landing(data, root / "landing", PARAMS)
    settings = make_settings(root, root / "landing", churn={"horizon_days": HORIZON})
    run(settings, PARAMS.start, LAST)
    return settings, data


def test_model_run_is_reported_with_a_time_split(churn_run):
    settings, _ = churn_run
    runs = read_table(settings.warehouse, "marts.churn_model_runs", "snapshot_date",
                      "method <> 'backtest'")
    assert len(runs) == 1
    r = runs.iloc[0]
    assert (r["method"], r["status"]) == ("supervised", "ok")
    test_day = pd.Timestamp(r["test_day"]).date()
    # the test day is the latest day whose horizon has fully happened ...
    assert test_day + dt.timedelta(days=HORIZON) <= LAST
    assert test_day + dt.timedelta(days=HORIZON + 7) > LAST
    # ... and no training label looks past it
    assert pd.Timestamp(r["train_last_day"]).date() + dt.timedelta(days=HORIZON) <= test_day
    assert r["train_rows"] >= 100 and r["test_rows"] > 50
    assert 0 < r["test_churn_rate"] < 1
    # both AUCs are reported; the model must beat a coin, the baseline is what it is
    assert 0.6 < r["model_auc"] <= 1 and 0.5 < r["baseline_auc"] <= 1


def test_labels_agree_with_the_generator_truth(churn_run):
    settings, data = churn_run
    f = read_table(settings.warehouse, "intermediate.int_churn_features",
                   "feature_date, user_id", "is_churned is not null")
    truth = data.truth.set_index("user_id")
    f["feature_date"] = pd.to_datetime(f["feature_date"])
    churn_date = pd.to_datetime(f["user_id"].map(truth["churn_date"]))
    return_date = pd.to_datetime(f["user_id"].map(truth["return_date"]))
    caused = pd.to_datetime(f["user_id"].map(truth["caused_visit_date"]))  # a win-back
    # gone for good before the feature day (no return inside the horizon): must be churned
    horizon_end = f["feature_date"] + pd.Timedelta(days=HORIZON)
    gone = (churn_date <= f["feature_date"]) & (
        return_date.isna() | (return_date > horizon_end)) & ~caused.between(
        f["feature_date"], horizon_end, inclusive="right")
    assert gone.sum() > 50
    assert f.loc[gone, "is_churned"].all()


def test_scores_bands_and_winback(churn_run):
    settings, _ = churn_run
    scores = read_table(settings.warehouse, "marts.user_churn_scores", "user_id")
    assert len(scores) > 100 and scores["user_id"].is_unique
    assert scores["churn_probability"].between(0, 1).all()
    churned = scores["recency_days"] >= 30
    assert (scores.loc[churned, "risk_band"] == "churned").all()
    active = scores[~churned]
    assert (active.loc[active["churn_probability"] >= 0.6, "risk_band"] == "high").all()
    assert (active.loc[active["churn_probability"] < 0.3, "risk_band"] == "low").all()
    # recently inactive users are riskier than today's actives, on average
    assert (active.loc[active["recency_days"] >= 14, "churn_probability"].mean()
            > active.loc[active["recency_days"] == 0, "churn_probability"].mean())
    wb = read_table(settings.warehouse, "marts.user_winback", "winback_rank")
    assert set(wb["risk_band"]) <= {"churned", "high"}
    assert len(wb) == scores["risk_band"].isin(["churned", "high"]).sum()
    assert wb["priority"].is_monotonic_decreasing


def test_rfm_from_orders_equals_python_scoring(churn_run):
    """R, F, M from paid orders computed here in pandas, scored by models.rfm, equal the
    pipeline's user_rfm."""
    settings, data = churn_run
    paid = data.orders[data.orders["status"] == "paid"].copy()
    paid["day"] = pd.to_datetime(paid["order_time"], utc=True).dt.tz_convert(None).dt.normalize()
    paid = paid[paid["day"] <= pd.Timestamp(LAST)]
    g = paid.groupby("user_id")
    measures = pd.DataFrame({
        "recency_days": (pd.Timestamp(LAST) - g["day"].max()).dt.days,
        "frequency": g.size(),
        "monetary": g["amount"].sum(),
    })
    want = rfm.score_rfm(measures)
    got = read_table(settings.warehouse, "marts.user_rfm", "user_id").set_index("user_id")
    assert list(got.index) == sorted(want.index)
    want = want.loc[got.index]
    for col in ("recency_days", "frequency", "r_score", "f_score", "m_score",
                "rfm11_segment", "cn8_segment"):
        assert (got[col].to_numpy() == want[col].to_numpy()).all(), col
    np.testing.assert_allclose(got["monetary"], want["monetary"], rtol=1e-9)


def test_clv_fit_metadata_and_dim_users(churn_run):
    settings, _ = churn_run
    clv = read_table(settings.warehouse, "marts.user_clv", "user_id")
    assert len(clv) > 0 and np.isfinite(clv.select_dtypes("number").to_numpy(float)).all()
    users = read_table(settings.warehouse, "marts.dim_users", "user_id")
    assert users["user_id"].is_unique and len(users) == PARAMS.users
    scored = read_table(settings.warehouse, "marts.user_churn_scores", "user_id")
    merged = users.merge(scored, on="user_id", suffixes=("", "_s"))
    assert (merged["risk_band"] == merged["risk_band_s"]).all()


def test_rerun_keeps_one_model_run_per_day_and_reuses_the_model(churn_run):
    settings, _ = churn_run
    before = read_table(settings.warehouse, "marts.user_churn_scores", "user_id")
    first = read_table(settings.warehouse, "marts.churn_model_runs", "snapshot_date",
                       "method <> 'backtest'")
    kept = read_table(settings.warehouse, "_userops.fitted_models", "name")
    # the event model, the backtest and its champion's fit
    assert set(kept["name"]) == {"churn_supervised", "churn_backtest", "churn_champion"}
    run(settings, LAST, LAST)
    runs = read_table(settings.warehouse, "marts.churn_model_runs", "snapshot_date",
                      "method <> 'backtest'")
    assert len(runs) == 1 and json.loads(runs.iloc[0]["details"]) == {}
    assert runs.iloc[0]["run_id"] != first.iloc[0]["run_id"]  # recorded by the rerun ...
    # ... which found its training rows unchanged and scored with the kept model
    assert read_table(settings.warehouse, "_userops.fitted_models", "name")[
        ["run_id", "fingerprint"]].equals(kept[["run_id", "fingerprint"]])
    assert pd.Timestamp(runs.iloc[0]["model_trained_on"]).date() == LAST
    for column in ("model_auc", "baseline_auc", "train_rows", "test_day"):
        assert runs.iloc[0][column] == first.iloc[0][column], column
    after = read_table(settings.warehouse, "marts.user_churn_scores", "user_id")
    pd.testing.assert_frame_equal(before, after)
    assert Path(settings.warehouse).exists()
