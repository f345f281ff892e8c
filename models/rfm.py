"""RFM scoring and segmentation (docs/METRICS.md, "RFM").

Input: one row per user with `recency_days` (days since the last R event, e.g. purchase),
`frequency` (F events in the window) and `monetary` (M amount in the window).
Output adds 1-5 scores, the rfm11 segment (R x F map) and the cn8 segment (each measure
compared with its mean). Pure pandas, no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MEASURES = ("recency_days", "frequency", "monetary")

RFM11_SEGMENTS = (
    "champions", "loyal", "potential_loyalists", "new", "promising", "need_attention",
    "about_to_sleep", "at_risk", "cant_lose", "hibernating",
)
CN8_SEGMENTS = {
    # (recency near, frequency high, monetary high) -> segment
    (True, True, True): "important_value",
    (False, True, True): "important_keep",
    (True, False, True): "important_develop",
    (False, False, True): "important_retain",
    (True, True, False): "general_value",
    (False, True, False): "general_keep",
    (True, False, False): "general_develop",
    (False, False, False): "general_retain",
}


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1-5 by quintile of rank; ties share the lowest rank, so equal values score equally.

    score = 1 + floor(5 * (number of users strictly worse) / n). Recency must be scored
    with higher_is_better=False: few days since the last purchase is good (recent = 5).
    """
    if values.isna().any():
        raise ValueError(f"cannot score {values.name!r}: it has missing values")
    n = len(values)
    if n == 0:
        return pd.Series([], dtype="int64", index=values.index)
    keyed = values if higher_is_better else -values
    worse = keyed.rank(method="min").to_numpy() - 1
    return pd.Series(1 + np.floor(5 * worse / n).astype("int64"), index=values.index)


def rfm11_segment(r: pd.Series, f: pd.Series) -> pd.Series:
    """The R x F map of docs/METRICS.md; every one of the 25 cells has exactly one segment."""
    conditions = [
        (r == 5) & (f >= 4),
        r.between(3, 4) & (f >= 4),
        (r >= 4) & f.between(2, 3),
        (r == 5) & (f == 1),
        (r == 4) & (f == 1),
        (r == 3) & (f == 3),
        (r == 3) & (f <= 2),
        (r <= 2) & f.between(3, 4),
        (r <= 2) & (f == 5),
        (r <= 2) & (f <= 2),
    ]
    out = np.select(conditions, list(RFM11_SEGMENTS), default="")
    if (out == "").any():
        raise ValueError("scores outside 1-5 reached the rfm11 map")
    return pd.Series(out, index=r.index)


def cn8_segment(measures: pd.DataFrame) -> pd.DataFrame:
    """Compare each measure with its mean: R near when recency days are *below* the mean
    (the common bug compares recency like F and M and so calls lapsed users "near")."""
    near = measures["recency_days"] < measures["recency_days"].mean()
    high_f = measures["frequency"] >= measures["frequency"].mean()
    high_m = measures["monetary"] >= measures["monetary"].mean()
    segment = [CN8_SEGMENTS[key] for key in zip(near, high_f, high_m, strict=True)]
    return pd.DataFrame(
        {"is_recent": near, "is_high_frequency": high_f, "is_high_monetary": high_m,
         "cn8_segment": segment},
        index=measures.index,
    )


def score_rfm(measures: pd.DataFrame) -> pd.DataFrame:
    """Scores and both segments for every row of `measures` (columns MEASURES)."""
    missing = [c for c in MEASURES if c not in measures.columns]
    if missing:
        raise ValueError(f"RFM measures lack columns {missing}")
    out = measures.copy()
    out["r_score"] = quintile_score(out["recency_days"], higher_is_better=False)
    out["f_score"] = quintile_score(out["frequency"])
    out["m_score"] = quintile_score(out["monetary"])
    out["rfm_score"] = (out["r_score"].astype(str) + out["f_score"].astype(str)
                        + out["m_score"].astype(str))
    out["rfm11_segment"] = rfm11_segment(out["r_score"], out["f_score"])
    return pd.concat([out, cn8_segment(out)], axis=1)
