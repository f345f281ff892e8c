"""funnel_conversion_drop (models/funnel_alert.py) on hand-built fct_funnel_daily rows:
fires on a drop in one breakdown value, waits for the funnel's window to close, needs its
users, a significant and material drop, and widens its test when the days vary more than
binomial draws; a lasting break is one episode."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from models import alerts as rules
from models.funnel_alert import ALERT, funnel_drop_alerts, lag_days
from orchestration.config import parse_config
from orchestration.model_settings import funnel_drop_settings

S = funnel_drop_settings(parse_config({}))  # the defaults: 7 recent days against 28
DAY0 = dt.date(2025, 1, 1)
LAGS = {"checkout": 1}


def funnel_days(days: int, entered: dict[str, list[int]], reached: dict[str, list[int]],
                ) -> pd.DataFrame:
    """A two-step funnel (cart -> pay) per breakdown value ('all' first): entrants and
    users who paid on each entry day from DAY0."""
    rows = []
    for value in entered:
        breakdown = "all" if value == "all" else "platform"
        for i in range(days):
            day = DAY0 + dt.timedelta(days=i)
            for k, step, users in ((1, "cart", entered[value][i]),
                                   (2, "pay", reached[value][i])):
                rows.append({"funnel": "checkout", "activity_date": day,
                             "breakdown": breakdown, "breakdown_value": value,
                             "step_number": k, "step": step, "users": users})
    return pd.DataFrame(rows)


def steady(days: int, n: int, rate: float, broken: dict[int, float] | None = None) -> list[int]:
    """`rate` of `n` on every day, `broken` days at their own rate."""
    return [round(n * (broken or {}).get(i, rate)) for i in range(days)]


def test_a_break_on_one_platform_fires_for_it_once_its_window_closed():
    days = 50
    broken = {i: 0.3 for i in range(40, 50)}  # android's payment breaks on day 40
    frame = funnel_days(days, {"all": [600] * days, "android": [200] * days},
                        {"all": steady(days, 600, 0.5), "android": steady(days, 200, 0.5, broken)})
    last = DAY0 + dt.timedelta(days=days - 1)
    fired = funnel_drop_alerts(frame, LAGS, DAY0, last, S)
    subjects = {f.subject for f in fired}
    assert subjects == {"checkout: cart -> pay (platform android)"}
    first = min(f.alert_date for f in fired)
    # the day-40 entrants are judged once their 24 h window closed: on day 41 at the earliest
    assert DAY0 + dt.timedelta(days=41) <= first <= DAY0 + dt.timedelta(days=43)
    assert fired[0].value < 0.5 and fired[0].threshold == 0.5
    assert "z " in fired[0].message and "of 200 users" not in fired[0].message
    # every day from the first firing on fires: one episode, not one post a day
    spans = rules.episodes(pd.DataFrame([{
        "alert_date": f.alert_date, "alert": f.alert, "subject": f.subject, "severity": "warn",
        "value": f.value, "threshold": f.threshold, "message": f.message} for f in fired]),
        "week", last)
    assert len(spans) == 1 and spans["alert"].iloc[0] == ALERT


def test_the_judged_days_own_entrants_are_not_yet_counted():
    days = 40
    broken = {39: 0.0}  # the last day's entrants: their window is still open
    frame = funnel_days(days, {"all": [400] * days}, {"all": steady(days, 400, 0.5, broken)})
    assert funnel_drop_alerts(frame, LAGS, DAY0, DAY0 + dt.timedelta(days=39), S) == []
    # a 72-hour funnel waits three days
    assert lag_days(72) == 3 and lag_days(2) == 1 and lag_days(24) == 1 and lag_days(25) == 2


def test_quiet_on_steady_binomial_days():
    rng = np.random.default_rng(3)
    days = 120
    n = [300] * days
    frame = funnel_days(days, {"all": n}, {"all": list(rng.binomial(300, 0.4, size=days))})
    assert funnel_drop_alerts(frame, LAGS, DAY0, DAY0 + dt.timedelta(days=days - 1), S) == []


def test_needs_min_users_and_a_material_drop():
    days = 40
    small = funnel_days(days, {"all": [10] * days},
                        {"all": steady(days, 10, 0.5, {i: 0.0 for i in range(30, 40)})})
    assert funnel_drop_alerts(small, LAGS, DAY0, DAY0 + dt.timedelta(days=39), S) == []
    # 50 % -> 47 % on 20,000 users a day is significant, but 6 % of the rate (< 10 %)
    big = funnel_days(days, {"all": [20000] * days},
                      {"all": steady(days, 20000, 0.5, {i: 0.47 for i in range(30, 40)})})
    assert funnel_drop_alerts(big, LAGS, DAY0, DAY0 + dt.timedelta(days=39), S) == []
    looser = dataclasses.replace(S, min_relative_drop=0.05)
    assert funnel_drop_alerts(big, LAGS, DAY0, DAY0 + dt.timedelta(days=39), looser) != []


def test_overdispersed_days_widen_the_test():
    """Baseline days alternating 30 % and 70 % (far more varied than binomial draws of 400):
    a week at 42 % is within their variation. Without the widening it would fire."""
    days = 40
    rates = {i: (0.3 if i % 2 else 0.7) for i in range(days)} | {i: 0.42 for i in range(31, 38)}
    frame = funnel_days(days, {"all": [400] * days},
                        {"all": steady(days, 400, 0.5, rates)})
    day = DAY0 + dt.timedelta(days=38)
    assert funnel_drop_alerts(frame, LAGS, day, day, S) == []
    calm = funnel_days(days, {"all": [400] * days},
                       {"all": steady(days, 400, 0.5, {i: 0.42 for i in range(31, 38)})})
    assert [f.alert for f in funnel_drop_alerts(calm, LAGS, day, day, S)] == [ALERT]


def test_no_baseline_no_judgement():
    days = 20  # fewer than 7 recent + 28 baseline days
    frame = funnel_days(days, {"all": [400] * days},
                        {"all": steady(days, 400, 0.5, {i: 0.1 for i in range(10, 20)})})
    assert funnel_drop_alerts(frame, LAGS, DAY0, DAY0 + dt.timedelta(days=19), S) == []
    assert funnel_drop_alerts(frame.iloc[0:0], LAGS, DAY0, DAY0, S) == []
