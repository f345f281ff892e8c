"""Churn challengers (models/challengers.py): metrics on hand-computed cases, fold
boundaries that no label crosses, calibration fitted on earlier folds only, the champion
rule; and, through dbt, that no feature of a cut-off reads a day after it."""

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from models import challengers
from orchestration.config import parse_config
from orchestration.model_settings import backtest_settings, churn_settings
from sample_data.generator import GeneratorParams, generate, write_landing
from tests.conftest import make_settings, read_table, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

BACKTEST = backtest_settings(parse_config({}))  # the defaults, as production builds them

Y = np.array([1, 0, 1, 0], dtype=bool)
P = np.array([0.9, 0.1, 0.8, 0.3])


def test_metrics_by_hand():
    m = challengers.metrics(Y, P)
    assert m["auc"] == 1.0
    assert m["brier"] == pytest.approx((0.01 + 0.01 + 0.04 + 0.09) / 4)
    assert m["log_loss"] == pytest.approx(-(2 * math.log(0.9) + math.log(0.8) + math.log(0.7)) / 4)
    # bins [0.9, 1]: 1 user, |0.9 - 1|; [0.1, 0.2): |0.1 - 0|; [0.8, 0.9): 0.2; [0.3, 0.4): 0.3
    assert m["ece"] == pytest.approx((0.1 + 0.1 + 0.2 + 0.3) / 4)
    # top decile: ceil(4 / 10) = 1 user (p 0.9, churned) over a 50 % churn rate
    assert m["top_decile_lift"] == 2.0
    assert m["average_precision"] == 1.0
    table = challengers.reliability(Y, P)
    assert table["users"].sum() == 4 and len(table) == 10
    assert table.loc[table["bin"] == 10, "observed_rate"].item() == 1.0
    one_class = challengers.metrics(np.array([True, True]), np.array([0.2, 0.4]))
    assert one_class["auc"] is None and one_class["average_precision"] is None


def test_platt_calibration():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 5000)
    y = rng.random(5000) < p ** 2  # overconfident scores: true rate p^2
    cal = challengers.Platt.fit(p, y)
    q = cal.apply(p)
    assert np.all(np.diff(q[np.argsort(p)]) >= 0)  # monotone: the ranking (AUC) stays
    ece = challengers.expected_calibration_error
    assert ece(y, q) < ece(y, p)
    assert challengers.Platt.fit(p, np.ones(5000, dtype=bool)) == challengers.Platt()


def _features(days: list[pd.Timestamp], users: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for d in days:
        for u in range(users):
            recency = int(rng.integers(0, 25))
            rows.append({"feature_date": d, "user_id": f"u{u}", "recency_days": recency,
                         "tenure_days": 100, "active_days_cur": 3, "engagement_cur": 5,
                         "engagement_prev": 5, "visits_cur": 5, "revenue_cur": 0.0,
                         "revenue_lookback": 0.0, "tier": "mid", "channel": "organic",
                         "frequency": 4, "btyd_recency": 50, "btyd_t": 60 + recency,
                         "last_gap_days": 5, "mean_gap_days": 12.5, "active_days_7": 1,
                         "active_days_30": 3, "active_days_90": 5, "monetary_value": 0.0,
                         "is_churned": bool(rng.random() < 0.2 + recency / 40)})
    return pd.DataFrame(rows)


def _summaries(cutoffs: list[pd.Timestamp], users: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for c in cutoffs:
        for u in range(users):
            x = int(rng.integers(0, 6))
            T = 60 + int(rng.integers(0, 30))
            rows.append({"cutoff_date": c, "is_scoring_day": False, "user_id": f"u{u}",
                         "frequency": x, "recency": int(rng.integers(0, T)) if x else 0, "T": T})
    return pd.DataFrame(rows)


def test_each_fold_trains_only_on_labels_known_at_its_cutoff(monkeypatch):
    grid = list(pd.date_range("2025-01-05", periods=20, freq="7D"))
    cutoffs = [grid[10], grid[15]]  # 35 days apart
    seen = []
    real = challengers.fit_candidate

    def spy(name, train, summary, params, s):
        seen.append((name, summary["cutoff_date"].iloc[0], train["feature_date"].max()))
        return real(name, train, summary, params, s)

    monkeypatch.setattr(challengers, "fit_candidate", spy)
    s = dataclasses.replace(BACKTEST, horizon_days=30, churn_days=30, min_training_rows=50,
                            candidates=("recency", "bgnbd", "supervised"))
    result = challengers.backtest(_features(grid), _summaries(cutoffs), s)
    assert {c for _, c, _ in seen} == set(cutoffs)
    for _, cutoff, latest in seen:
        # the latest training feature day's label window (30 days after it) ends by the cut-off
        assert latest + pd.Timedelta(days=30) <= cutoff
        assert latest + pd.Timedelta(days=37) > cutoff  # and nothing labelled is left out
    ok = result.rows[result.rows["status"] == "ok"]
    assert set(ok["fold"]) == {1, 2}
    # calibration: the first fold has no earlier fold, the second is calibrated on the first
    assert not ok.loc[ok["fold"] == 1, "calibrated"].any()
    assert ok.loc[ok["fold"] == 2, "calibrated"].all()
    assert result.champion in s.candidates and ok["is_champion"].sum() == 2
    # Platt is published only where it lowered the error on the folds it was tested on
    for name in s.candidates:
        second = ok[(ok["candidate"] == name) & (ok["fold"] == 2)].iloc[0]
        assert result.calibrate[name] == (second["ece"] < second["raw_ece"])


def _rows(spec: dict[str, tuple[list[float], list[float]]]) -> pd.DataFrame:
    rows = []
    for name, (aucs, eces) in spec.items():
        for fold, (auc, ece) in enumerate(zip(aucs, eces, strict=True), start=1):
            rows.append({"candidate": name, "fold": fold, "status": "ok", "auc": auc,
                         "ece": ece, "raw_ece": ece, "calibrated": fold > 1, "message": ""})
    return pd.DataFrame(rows)


def test_champion_rule():
    s = dataclasses.replace(BACKTEST, candidates=("recency", "bgnbd", "supervised"),
                            max_calibration_error=0.1)
    rows = _rows({"recency": ([0.6, 0.6], [0.2, 0.05]),
                  "bgnbd": ([0.7, 0.7], [0.3, 0.09]),
                  "supervised": ([0.9, 0.9], [0.01, 0.2])})
    # supervised has the best AUC but its calibrated error (fold 2) is above the bound
    assert challengers.choose_champion(rows, s)[0] == "bgnbd"
    strict = dataclasses.replace(s, max_calibration_error=0.01)
    champion, reason = challengers.choose_champion(rows, strict)
    assert champion == "recency" and "lowest" in reason
    failed = rows.copy()
    failed.loc[(failed["candidate"] == "bgnbd") & (failed["fold"] == 2), "status"] = "failed"
    assert challengers.choose_champion(failed, s)[0] == "recency"  # bgnbd missed a fold


# through dbt: features and summaries of a cut-off are the same with or without later days

PARAMS = GeneratorParams(users=300, days=110, seed=5, start=dt.date(2025, 1, 1))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    data = generate(PARAMS)
    last = PARAMS.start + dt.timedelta(days=PARAMS.days - 1)
    out = {}
    for name, keep_until in (("full", None), ("truncated", dt.date(2025, 3, 5))):
        root = tmp_path_factory.mktemp(name)
        if keep_until is not None:
            cut = pd.Timestamp(keep_until + dt.timedelta(days=1), tz="UTC")
            data.events = data.events[pd.to_datetime(data.events["event_time"], utc=True) < cut]
            data.orders = data.orders[pd.to_datetime(data.orders["order_time"], utc=True) < cut]
        write_landing(data, root / "landing", PARAMS)
        settings = make_settings(root, root / "landing")
        run(settings, PARAMS.start, last, models_only=True)
        out[name] = settings
    return out, dt.date(2025, 3, 5)


def test_no_feature_reads_a_day_after_its_cutoff(two_runs):
    runs, cut = two_runs
    full, short = runs["full"].warehouse, runs["truncated"].warehouse
    cutoffs = read_table(full, "intermediate.int_churn_backtest_summaries", "cutoff_date",
                         "not is_scoring_day")["cutoff_date"].drop_duplicates()
    days = [pd.Timestamp(c).date() for c in cutoffs if pd.Timestamp(c).date() <= cut]
    assert days, "a cut-off on or before the truncation day"
    for day in days:
        where = f"cutoff_date = '{day}'"
        a = read_table(full, "intermediate.int_churn_backtest_summaries", "user_id", where)
        b = read_table(short, "intermediate.int_churn_backtest_summaries", "user_id", where)
        assert len(a) > 30
        pd.testing.assert_frame_equal(a, b)
        where = f"feature_date = '{day}'"
        columns = [c for c in challengers.SUPERVISED_FEATURES
                   if c not in challengers.BTYD_FEATURES and c != "gap_trend_days"]
        a = read_table(full, "intermediate.int_churn_features", "user_id", where)
        b = read_table(short, "intermediate.int_churn_features", "user_id", where)
        assert len(a) > 30
        pd.testing.assert_frame_equal(a[["user_id", *columns]], b[["user_id", *columns]])


def _result(champion_auc: float, recency_auc: float) -> challengers.Backtest:
    rows = pd.DataFrame([
        {"candidate": "supervised", "fold": 2, "status": "ok", "auc": champion_auc},
        {"candidate": "recency", "fold": 2, "status": "ok", "auc": recency_auc},
        {"candidate": "supervised", "fold": 1, "status": "ok", "auc": 0.5}])
    return challengers.Backtest(rows, pd.DataFrame(), "supervised", "test")


def test_drift_check_against_the_previous_run_and_recency():
    from orchestration.assets.churn_challengers import drift_check

    history = pd.DataFrame([
        {"method": "backtest", "candidate": "supervised", "snapshot_date": "2025-03-01",
         "fold": 2, "auc": 0.80},
        {"method": "backtest", "candidate": "supervised", "snapshot_date": "2025-03-01",
         "fold": 1, "auc": 0.60}])
    today = dt.date(2025, 3, 8)
    assert drift_check(history, _result(0.76, 0.70), 0.05, today).passed  # 0.04 below
    fell = drift_check(history, _result(0.74, 0.70), 0.05, today)
    assert not fell.passed and "previous run's 0.800" in fell.metadata["message"].value
    below = drift_check(history, _result(0.79, 0.795), 0.05, today)
    assert not below.passed and "below recency alone" in below.metadata["message"].value
    # the same day's own rows are not "the previous run"
    assert drift_check(history, _result(0.70, 0.60), 0.05, dt.date(2025, 3, 1)).passed


def test_a_champion_that_cannot_be_refitted_leaves_the_fallback_scores():
    """The backtest chose BG/NBD, but at the latest cut-off nobody has a repeat active day
    (a degenerate sample): the run keeps the incumbent model's scores and says why, instead
    of failing the scoring step."""
    from orchestration.assets.churn_challengers import fit_champion, scores_or_fallback

    cutoff = pd.Timestamp("2025-03-01")
    summaries = pd.DataFrame({"cutoff_date": cutoff, "is_scoring_day": False,
                              "user_id": [f"u{u}" for u in range(20)], "frequency": 0,
                              "recency": 0, "T": list(range(20))})
    now = summaries.assign(cutoff_date=pd.Timestamp("2025-04-01"), is_scoring_day=True)
    incumbent = pd.DataFrame({"user_id": now["user_id"], "recency_days": now["T"],
                              "tier": "low", "channel": "organic",
                              "churn_probability": 0.4, "method": "recency",
                              "risk_band": "medium"})
    result = challengers.Backtest(pd.DataFrame(), pd.DataFrame(), "bgnbd", "best mean auc")
    labelled = _features([cutoff])
    scores, champion, reason = scores_or_fallback(
        result, lambda: fit_champion(result, labelled, pd.concat([summaries, now]), BACKTEST),
        labelled.iloc[:0], now, incumbent, BACKTEST, churn_settings(parse_config({})))
    assert champion is None
    assert "champion bgnbd could not be refitted on the labelled data" in reason
    assert "repeat" in reason  # the fit's own message
    assert (scores["method"] == "recency").all()
    assert scores["churn_probability"].tolist() == scores["raw_probability"].tolist()
    assert scores["driver_1"].isna().all() and len(scores) == 20


def test_a_btyd_champion_scores_todays_summaries_with_the_cutoffs_parameters():
    """The champion is fitted on the latest cut-off's summaries and kept until the labelled
    data changes; each day it scores the users' summaries of that day."""
    from orchestration.assets.churn_challengers import champion_scores, fit_champion

    cutoff, today = pd.Timestamp("2025-03-01"), pd.Timestamp("2025-03-04")
    summaries = _summaries([cutoff], users=200)
    now = summaries.assign(cutoff_date=today, is_scoring_day=True, T=summaries["T"] + 3)
    result = challengers.Backtest(pd.DataFrame(), pd.DataFrame(), "bgnbd", "best mean auc")
    champion = fit_champion(result, _features([cutoff]), pd.concat([summaries, now]), BACKTEST)
    fitted, params = champion
    assert fitted.summary is None  # nothing of the cut-off's users is kept
    incumbent = pd.DataFrame({"user_id": now["user_id"], "recency_days": 1, "tier": "low",
                              "channel": "organic", "churn_probability": 0.4,
                              "method": "recency", "risk_band": "medium"})
    scores = champion_scores(result, champion, _features([today]).iloc[:0], now, incumbent,
                             BACKTEST, churn_settings(parse_config({})))
    frame = now.set_index("user_id")[["frequency", "recency", "T"]].astype(float)
    expected = challengers.btyd_no_purchase("bgnbd", params, frame, BACKTEST.horizon_days)
    assert (scores["method"] == "bgnbd").all()
    np.testing.assert_allclose(scores["raw_probability"], expected)
    # three days later, the same users are less likely to come back than at the cut-off
    at_cutoff = challengers.btyd_no_purchase(
        "bgnbd", params, summaries.set_index("user_id")[["frequency", "recency", "T"]]
        .astype(float), BACKTEST.horizon_days)
    assert (expected >= at_cutoff - 1e-12).all() and (expected > at_cutoff).any()
