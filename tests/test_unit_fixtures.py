"""The expected rows of a dbt unit test whose logic has a pandas reference are the
reference's, computed from the unit test's own given rows: the fixture cannot drift from
the definition (docs/METRICS.md) it claims to pin."""

from pathlib import Path

import pandas as pd
import yaml

from tests import reference

MODELS = Path(__file__).resolve().parent.parent / "dbt_project" / "models"


def _unit_test(yml: str, name: str) -> dict:
    tests = yaml.safe_load((MODELS / yml).read_text())["unit_tests"]
    return next(t for t in tests if t["name"] == name)


def _given(test: dict, ref: str) -> pd.DataFrame:
    return pd.DataFrame(next(g["rows"] for g in test["given"] if g["input"] == ref))


def spans(daily: pd.DataFrame, last: str) -> list[dict]:
    """Daily stages collapsed to fct_user_lifecycle_spans' rows: a span starts where the
    stage, cur or prev changes; `previous_stage` is the stage of the day before."""
    out: list[dict] = []
    keys = ["lifecycle_stage", "engagement_cur", "engagement_prev"]
    for _, g in daily.sort_values(["user_id", "activity_date"]).groupby("user_id"):
        before = None
        for row in g.to_dict("records"):
            if before is None or [row[k] for k in keys] != [before[k] for k in keys]:
                if out and out[-1]["user_id"] == row["user_id"]:
                    out[-1]["valid_to"] = str(pd.Timestamp(row["activity_date"])
                                              - pd.Timedelta(days=1))[:10]
                out.append({"user_id": row["user_id"], "valid_from": str(row["activity_date"]),
                            "valid_to": last, **{k: row[k] for k in keys},
                            "previous_stage": (None if pd.isna(row["previous_stage"])
                                               else row["previous_stage"])})
            before = row
    return out


def test_the_lifecycle_spans_fixture_is_the_reference_of_its_inputs():
    test = _unit_test("marts/lifecycle/_lifecycle.yml", "spans_follow_the_stage_rules_day_by_day")
    v = test["overrides"]["vars"]
    days = _given(test, "ref('int_user_days')")
    units = days[days["is_active"]].rename(columns={"engagement_units": "units"})
    units["activity_date"] = pd.to_datetime(units["activity_date"]).dt.date
    last = test["given"][0]["rows"][0]["built_through"]
    daily = reference.lifecycle_daily(
        units, pd.Timestamp(last).date(), churn_days=v["lifecycle_churn_days"],
        new_days=v["lifecycle_new_days"], idle_days=v["lifecycle_declining_inactive_days"],
        declining_ratio=v["lifecycle_declining_ratio"], high_min=v["tier_high_min"],
        window=v["engagement_window_days"])
    expected = sorted(test["expect"]["rows"], key=lambda r: (r["user_id"], r["valid_from"]))
    assert spans(daily, last) == expected
    assert {r["lifecycle_stage"] for r in expected} >= {"new", "growing", "declining", "churned",
                                                        "reactivated", "mature"}
