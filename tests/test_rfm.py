"""RFM scores and segments on hand-built fixtures (docs/METRICS.md, "RFM")."""

from __future__ import annotations

import pandas as pd
import pytest

from models import rfm

# The R x F grid of docs/METRICS.md written out by hand: row = R score 5..1, column = F 1..5.
RFM11_GRID = {
    5: ["new", "potential_loyalists", "potential_loyalists", "champions", "champions"],
    4: ["promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
    1: ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
}


def test_quintiles_of_distinct_values():
    values = pd.Series(range(1, 11), name="frequency")
    assert rfm.quintile_score(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_recency_is_scored_recent_high():
    days = pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], name="recency_days")
    assert rfm.quintile_score(days, higher_is_better=False).tolist() == [
        5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_equal_values_get_equal_scores():
    # six one-time buyers and four repeaters: every one-time buyer scores the same
    f = pd.Series([1, 1, 1, 1, 1, 1, 2, 2, 3, 9], name="frequency")
    scores = rfm.quintile_score(f)
    assert scores.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert scores.groupby(f).nunique().eq(1).all()
    same = pd.Series([7.0] * 5, name="monetary")
    assert rfm.quintile_score(same).nunique() == 1


def test_missing_measure_is_an_error():
    with pytest.raises(ValueError, match="missing values"):
        rfm.quintile_score(pd.Series([1.0, None], name="monetary"))


def test_rfm11_map_covers_every_cell():
    cells = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    r = pd.Series([c[0] for c in cells])
    f = pd.Series([c[1] for c in cells])
    got = rfm.rfm11_segment(r, f).tolist()
    assert got == [RFM11_GRID[rr][ff - 1] for rr, ff in cells]
    assert set(got) == set(rfm.RFM11_SEGMENTS)


def test_cn8_every_segment_and_recency_not_inverted():
    # near = 1 day since last purchase, far = 100 days; F high 10 / low 1; M high 500 / low 5
    rows = []
    expected = {}
    for near in (True, False):
        for high_f in (True, False):
            for high_m in (True, False):
                user = f"u{len(rows)}"
                rows.append({"user_id": user, "recency_days": 1 if near else 100,
                             "frequency": 10 if high_f else 1,
                             "monetary": 500.0 if high_m else 5.0})
                expected[user] = rfm.CN8_SEGMENTS[(near, high_f, high_m)]
    scored = rfm.score_rfm(pd.DataFrame(rows).set_index("user_id"))
    assert scored["cn8_segment"].to_dict() == expected
    assert set(scored["cn8_segment"]) == set(rfm.CN8_SEGMENTS.values())
    # the R-inversion bug: the user bought yesterday, with everything high, is the most
    # valuable segment and has the top R score; the lapsed big spender is "keep". (Half
    # the users tie on the best recency, so they share the score of the lowest of them, 3.)
    assert expected["u0"] == "important_value"
    assert scored.loc["u0", "r_score"] == scored["r_score"].max() == 3
    assert bool(scored.loc["u0", "is_recent"])
    assert scored.loc["u4", "cn8_segment"] == "important_keep"
    assert scored.loc["u4", "r_score"] == 1 and not bool(scored.loc["u4", "is_recent"])


def test_mean_comparisons_are_strict_for_recency_and_inclusive_for_f_and_m():
    m = pd.DataFrame({"recency_days": [10, 10, 40], "frequency": [2, 2, 2],
                      "monetary": [3.0, 6.0, 9.0]})
    seg = rfm.cn8_segment(m)
    # mean recency 20: 10 is near, 40 far; F = mean counts as high; M 6 = mean is high
    assert seg["is_recent"].tolist() == [True, True, False]
    assert seg["is_high_frequency"].all()
    assert seg["is_high_monetary"].tolist() == [False, True, True]
    equal = pd.DataFrame({"recency_days": [5, 5], "frequency": [1, 1], "monetary": [1.0, 1.0]})
    # every recency equals the mean: nobody is nearer than average
    assert not rfm.cn8_segment(equal)["is_recent"].any()


def test_score_rfm_on_a_spread_fixture():
    measures = pd.DataFrame({
        "recency_days": [0, 3, 10, 30, 60, 90, 120, 200, 300, 400],
        "frequency": [12, 8, 5, 1, 6, 2, 1, 9, 1, 1],
        "monetary": [900.0, 400, 120, 15, 300, 40, 10, 700, 5, 20],
    }, index=[f"c{i}" for i in range(10)])
    scored = rfm.score_rfm(measures)
    assert scored.loc["c0", ["r_score", "f_score", "m_score"]].tolist() == [5, 5, 5]
    assert scored.loc["c0", "rfm_score"] == "555"
    assert scored.loc["c0", "rfm11_segment"] == "champions"
    # four one-time buyers tie on F: same F score
    assert scored.loc[["c3", "c6", "c8", "c9"], "f_score"].nunique() == 1
    # a lapsed heavy buyer (R1, F5): can't lose
    assert scored.loc["c7", ["r_score", "f_score"]].tolist() == [2, 5]
    assert scored.loc["c7", "rfm11_segment"] == "cant_lose"
    assert scored.loc["c9", "rfm11_segment"] == "hibernating"
