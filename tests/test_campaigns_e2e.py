"""Campaign quality against a baseline of comparable users not reached (docs/METRICS.md,
Channels): a pandas reference written from the definition."""

import pandas as pd
import pytest

from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, make_settings, read_table, run


@pytest.mark.e2e
def test_campaign_baseline_against_a_pandas_reference(tmp_path):
    """The reached users against comparable users not reached, in strata of prior activity
    (fct_campaign_quality's definition, computed here from its inputs), on a landing long
    enough for the campaigns' day +30 to elapse."""
    params = GeneratorParams(users=600, days=75, seed=5)
    landing, days_ = generated_landing(tmp_path, params)
    settings = make_settings(tmp_path / "wh", landing)
    run(settings, days_[0], days_[-1], models_only=True)
    got = read_table(settings.warehouse, "marts.fct_campaign_quality", "campaign_id"
                     ).set_index("campaign_id")
    days = read_table(settings.warehouse, "intermediate.int_user_days", "user_id",
                      "is_active")[["user_id", "activity_date"]]
    days["activity_date"] = pd.to_datetime(days["activity_date"])
    sessions = read_table(settings.warehouse, "intermediate.int_sessions", "visit_id",
                          "campaign_id is not null")
    users = read_table(settings.warehouse, "staging.stg_app__users", "user_id")
    snapshot = pd.Timestamp(got["snapshot_date"].iloc[0])
    checked = 0
    for campaign, row in got.iterrows():
        mine = sessions[sessions["campaign_id"] == campaign]
        first_visit = pd.to_datetime(mine.groupby("user_id")["activity_date"].min())
        start = first_visit.min()
        anchors = [(u, d, True) for u, d in first_visit.items()]
        anchors += [(u, start, False) for u, s in zip(users["user_id"], users["signup_date"],
                                                         strict=True)
                    if pd.Timestamp(s) < start and u not in first_visit.index]
        strata: dict[str, list[list[int]]] = {}
        for user, anchor, reached in anchors:
            if anchor + pd.Timedelta(days=30) > snapshot:
                continue
            mine_days = days.loc[days["user_id"] == user, "activity_date"]
            prior = int(mine_days.between(anchor - pd.Timedelta(days=28),
                                          anchor - pd.Timedelta(days=1)).sum())
            if prior == 0:
                continue
            later = bool(mine_days.between(anchor + pd.Timedelta(days=24),
                                           anchor + pd.Timedelta(days=30)).any())
            key = "12+" if prior >= 12 else "4-11" if prior >= 4 else "1-3"
            cell = strata.setdefault(key, [[0, 0], [0, 0]])[0 if reached else 1]
            cell[0] += 1
            cell[1] += later
        both = {k: v for k, v in strata.items() if v[0][0] and v[1][0]}
        if not both:
            assert pd.isna(row["baseline_active_30d_share"]), campaign
            continue
        n = sum(v[0][0] for v in both.values())
        assert row["compared_users"] == n
        assert row["compared_active_30d_share"] == pytest.approx(
            sum(v[0][1] for v in both.values()) / n)
        assert row["baseline_active_30d_share"] == pytest.approx(
            sum(v[0][0] * v[1][1] / v[1][0] for v in both.values()) / n)
        checked += 1
    assert checked >= 1
