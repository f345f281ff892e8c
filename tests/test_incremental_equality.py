"""Day-by-day runs, one backfill run and a full refresh build the same rows, table by
table, and a rerun changes nothing. In its own module: its eleven runs are the suite's
longest single path, which pytest-xdist then runs beside the other modules."""


import pytest

from sample_data.generator import GeneratorParams
from tests.conftest import assert_same_tables as _assert_same
from tests.conftest import built_tables as _tables
from tests.conftest import generated_landing, make_settings, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs


def test_incremental_equals_backfill_equals_full_refresh_and_reruns_are_idempotent(tmp_path):
    params = GeneratorParams(users=150, days=8, seed=5)
    landing, days = generated_landing(tmp_path, params)

    # a short churn horizon and grid, so labels complete within the eight days and the
    # incremental int_churn_features has labels to get right
    config = {"incremental": {"lookback_days": 2},
              "churn": {"horizon_days": 2, "snapshot_every_days": 2}}
    daily = make_settings(tmp_path / "daily", landing, **config)
    # the days before the last build the dbt models alone: the snapshot tables (scores,
    # dim_users, win-back) are a function of the last day's state, which the last run
    # builds in full, so every table below is still compared
    for day in days[:-1]:
        run(daily, day, day, models_only=True)
    run(daily, days[-1], days[-1])
    by_day = _tables(daily)

    features = by_day["intermediate.int_churn_features"]
    assert features["is_churned"].notna().sum() > 50 and features["is_churned"].isna().any()
    assert features["feature_date"].nunique() >= 4

    backfill = make_settings(tmp_path / "backfill", landing, **config)
    run(backfill, days[0], days[-1])
    _assert_same(by_day, _tables(backfill), "day by day vs one backfill run")

    run(backfill, days[0], days[-1], full_refresh=True)
    _assert_same(by_day, _tables(backfill), "day by day vs full refresh")

    run(daily, days[4], days[4])  # rerun a middle day: nothing changes
    _assert_same(by_day, _tables(daily), "rerun of one day")
    fact = by_day["marts.fct_active_users_daily"]
    assert (fact["breakdown"] == "all").sum() == params.days
