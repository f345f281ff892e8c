"""Business alert rules (models/alerts.py) firing and not firing at their thresholds,
fct_alerts' merge across reruns, and the webhook against a local HTTP server."""

import dataclasses
import datetime as dt
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest

from models import alerts as rules
from orchestration.assets.alerts import merge, notify, track
from orchestration.config import parse_config
from orchestration.model_settings import alert_thresholds

T = alert_thresholds(parse_config({}))  # the defaults, as production builds them
MON = dt.date(2025, 3, 3)  # a Monday
LOG = logging.getLogger("test_alerts")


def weeks(rows: list[dict]) -> pd.DataFrame:
    """Complete weekly growth rows from Monday MON, one per dict."""
    base = {"new_users": 10, "resurrected_users": 0, "churned_users": 10, "net_growth": 0,
            "quick_ratio": 1.0, "new_user_ratio": 0.1, "churn_rate": 0.1, "is_complete": True}
    return pd.DataFrame([{**base, **r, "period_start": MON + dt.timedelta(weeks=i)}
                         for i, r in enumerate(rows)])


def names(firings) -> list[tuple[str, dt.date]]:
    return [(f.alert, f.alert_date) for f in firings]


SUN1 = MON + dt.timedelta(days=6)
SUN2 = MON + dt.timedelta(days=13)
SUN3 = MON + dt.timedelta(days=20)


def flows(rows: list[dict]) -> pd.DataFrame:
    """Complete weekly fct_user_base_flow rows from Monday MON, one per dict."""
    base = {"base_users": 1000, "new_users": 100, "churned_users": 100, "returned_users": 0,
            "is_complete": True}
    out = pd.DataFrame([{**base, **r, "period_start": MON + dt.timedelta(weeks=i)}
                        for i, r in enumerate(rows)])
    for ratio, column in (("new_user_ratio", "new_users"), ("churn_rate", "churned_users"),
                          ("return_rate", "returned_users")):
        out[ratio] = out[column] / out["base_users"]
    return out


def test_decline_rule_fires_on_a_shortfall_of_two_standard_errors():
    # shortfall 100 - 80 = 20 vs 2 * sqrt(180) = 26.8: noise; 100 - 70 = 30 vs 26.1: fires
    # (new-user ratio 0.07 < churn rate 0.10); returned users count as inflow
    fired = rules.decline_alerts(flows([
        {"new_users": 80}, {"new_users": 70}, {"new_users": 70, "returned_users": 20},
        {"new_users": 70, "is_complete": False}]), "week", MON, SUN3 + dt.timedelta(7), T)
    assert names(fired) == [("decline_rule", SUN2)]
    assert fired[0].value == 0.07 and fired[0].threshold == 0.1
    assert "new-user ratio 0.070 + return rate 0.000 < churn rate 0.100" in fired[0].message
    assert "short by 30, 2.3 standard errors >= 2" in fired[0].message
    # a first period without a base judges nothing
    assert rules.decline_alerts(flows([{"base_users": 0, "new_users": 0}]), "week", MON,
                                SUN1, T) == []


def test_decline_rule_rarely_fires_on_a_steady_base():
    """Its false-firing rate: a base that holds steady (churned ~ Poisson(mean), new +
    returned ~ Poisson(mean)) fires in about 2.3 % of weeks at z = 2 (one-sided normal
    tail), i.e. < 1 firing per 100 days. The literal practice rule (new < churned, no
    returns, no noise margin) fires in nearly every week: on a steady base with returns,
    new = churned - returned."""
    rng = np.random.default_rng(1)
    n, mean = 4000, 120
    churned = rng.poisson(mean, n)
    new = rng.poisson(0.7 * mean, n)
    returned = rng.poisson(0.3 * mean, n)
    flow = pd.DataFrame({"period_start": [MON + dt.timedelta(weeks=i) for i in range(n)],
                         "base_users": 3000, "new_users": new, "returned_users": returned,
                         "churned_users": churned, "is_complete": True})
    for ratio, column in (("new_user_ratio", "new_users"), ("churn_rate", "churned_users"),
                          ("return_rate", "returned_users")):
        flow[ratio] = flow[column] / flow["base_users"]
    last = MON + dt.timedelta(weeks=n)
    rate = len(rules.decline_alerts(flow, "week", MON, last, T)) / n
    assert 0.01 < rate < 0.04
    assert rate * 100 / 7 < 1  # firings per 100 days
    assert (new < churned).mean() > 0.9  # the literal rule, on the same weeks


def test_quick_ratio_below_one_fires_beyond_noise_only():
    # 80 + 20 vs 140 churned: missing 40, noise sqrt(100 + 140) = 15.5 -> 2.6 se, fires;
    # 99 vs 100: below 1 but noise; exactly 1: not below
    growth = weeks([{"quick_ratio": 100 / 140, "new_users": 80, "resurrected_users": 20,
                     "churned_users": 140},
                    {"quick_ratio": 0.99, "new_users": 99, "churned_users": 100},
                    {"quick_ratio": 1.0}, {"quick_ratio": None, "churned_users": 0}])
    fired = [f for f in rules.growth_alerts(growth, "week", MON, SUN3 + dt.timedelta(7), T)
             if f.alert == "quick_ratio_low"]
    assert names(fired) == [("quick_ratio_low", SUN1)]
    assert fired[0].threshold == 1.0 and "2.6 standard errors >= 2" in fired[0].message


def test_net_growth_negative_needs_n_periods_in_a_row_beyond_noise():
    growth = weeks([{"net_growth": -30, "churned_users": 40},
                    {"net_growth": 0},
                    {"net_growth": -30, "churned_users": 40},
                    {"net_growth": -20, "churned_users": 30},
                    {"net_growth": -1, "churned_users": 11}])
    fired = [f for f in rules.growth_alerts(growth, "week", MON, MON + dt.timedelta(days=34),
                                            T) if f.alert == "net_growth_negative"]
    # weeks 3-4 together: 50 lost of 90 who moved (5.3 se); weeks 4-5: 21 of 61 (2.7 se)
    assert names(fired) == [("net_growth_negative", MON + dt.timedelta(days=27)),
                            ("net_growth_negative", MON + dt.timedelta(days=34))]
    assert "(-30, -20; 5.3 standard errors together >= 2)" in fired[0].message
    # two small losses together within noise do not fire
    small = weeks([{"net_growth": -2, "churned_users": 12}, {"net_growth": -2,
                                                             "churned_users": 12}])
    assert not [f for f in rules.growth_alerts(small, "week", MON, SUN2, T)
                if f.alert == "net_growth_negative"]
    three = dataclasses.replace(T, net_growth_negative_periods=3)
    assert not [f for f in rules.growth_alerts(growth, "week", MON, SUN3 + dt.timedelta(7), three)
                if f.alert == "net_growth_negative"]


def test_growth_alerts_skip_incomplete_periods_and_days_outside_the_run():
    low = {"quick_ratio": 0.5, "new_users": 50, "churned_users": 100}
    growth = weeks([low, {**low, "is_complete": False}])
    assert names(rules.growth_alerts(growth, "week", MON, SUN2, T)) == [("quick_ratio_low", SUN1)]
    assert rules.growth_alerts(growth, "week", SUN1 + dt.timedelta(1), SUN2, T) == []
    monthly = pd.DataFrame([{**weeks([low]).iloc[0].to_dict(),
                             "period_start": dt.date(2025, 2, 1)}])
    assert names(rules.growth_alerts(monthly, "month", MON, MON, T)) == []
    assert names(rules.growth_alerts(monthly, "month", dt.date(2025, 2, 28),
                                     dt.date(2025, 2, 28), T)) == [
        ("quick_ratio_low", dt.date(2025, 2, 28))]


def signups(channel: str, counts: list[int], end: dt.date) -> pd.DataFrame:
    days = [end - dt.timedelta(days=len(counts) - 1 - i) for i in range(len(counts))]
    return pd.DataFrame({"channel": channel, "signup_date": days, "new_users": counts})


def test_channel_turning_unstable():
    end = dt.date(2025, 4, 30)
    # 28 steady days of 10 a day, then a week of 0, 0, 0, 0, 0, 0, 40: CV jumps
    steady = signups("ads", [10] * 28 + [0] * 6 + [40], end)
    fired = rules.channel_alerts(steady, end, T)
    assert [(f.alert, f.subject) for f in fired] == [("channel_unstable", "ads")]
    assert fired[0].value > T.stable_max_cv
    # unstable a week ago too: not "turning"
    noisy = signups("ads", [0, 30] * 17 + [0], end)
    assert rules.channel_alerts(noisy, end, T) == []
    # still stable
    assert rules.channel_alerts(signups("ads", [10] * 35, end), end, T) == []


def test_a_channel_as_variable_as_poisson_counts_is_not_unstable():
    end = dt.date(2025, 4, 30)
    # 28 days of 2, 4, 2, 4 (CV 0.33, stable), then a week of 0, 6, 0, 6, 1, 5, 3: the
    # window's CV is 0.51, over the bound, yet its variance is what Poisson counts of mean
    # 3 have (dispersion p ~ 0.7): chance, no firing
    counts = [2, 4] * 14 + [0, 6, 0, 6, 1, 5, 3]
    small = signups("ads", counts, end)
    assert rules.signup_cv(small, "ads", end, 28) >= T.stable_max_cv
    assert rules.dispersion_p(small, "ads", end, 28) > 0.5
    assert rules.channel_alerts(small, end, T) == []
    # the steady-then-bursty channel of the test above is far beyond Poisson
    bursty = signups("ads", [10] * 28 + [0] * 6 + [40], end)
    assert rules.dispersion_p(bursty, "ads", end, 28) < 1e-6


def test_channel_cv_matches_the_definition():
    end = dt.date(2025, 4, 30)
    frame = signups("ads", [1, 3], end)
    cv = rules.signup_cv(frame, "ads", end, 4)  # days 0, 0, 1, 3: mean 1, pop std sqrt(1.5)
    assert cv == pytest.approx(1.5 ** 0.5)
    assert rules.signup_cv(frame, "organic", end, 4) is None


def test_high_risk_share_jump_against_the_previous_scoring():
    runs = pd.DataFrame({"snapshot_date": pd.to_datetime(["2025-03-01", "2025-03-02"]),
                         "high_risk_share": [0.10, 0.15]})
    fired = rules.risk_share_alert(runs, T)
    assert names(fired) == [("high_risk_share_jump", dt.date(2025, 3, 2))]
    assert "+5.0 points" in fired[0].message
    runs.loc[1, "high_risk_share"] = 0.1499
    assert rules.risk_share_alert(runs, T) == []
    assert rules.risk_share_alert(runs.iloc[:1], T) == []


def test_bounced_only_spike_by_robust_z():
    days = pd.date_range("2025-01-01", periods=31).date
    bounced = [10, 12] * 15 + [40]  # share 10 % / 12 %, then 40 / 140
    daily = pd.DataFrame({"activity_date": days, "dau": [100] * 31, "bounced_only_users": bounced})
    fired = rules.bounced_only_alerts(daily, days[0], days[-1], T)
    assert names(fired) == [("bounced_only_spike", days[-1])]
    # the 28 days before: 14 x 10/110 and 14 x 12/112, so the median is their mean and
    # the MAD half their difference
    low, high = 10 / 110, 12 / 112
    z = 0.6745 * (40 / 140 - (low + high) / 2) / ((high - low) / 2)
    assert fired[0].value == pytest.approx(z)
    at = dataclasses.replace(T, bounced_only_z=fired[0].value)
    assert len(rules.bounced_only_alerts(daily, days[-1], days[-1], at)) == 1
    above = dataclasses.replace(T, bounced_only_z=fired[0].value + 1e-6)
    assert rules.bounced_only_alerts(daily, days[-1], days[-1], above) == []
    # z needs trend_min_history_days of history: a spike on day 10 does not fire
    early = daily.copy()
    early.loc[9, "bounced_only_users"] = 80
    assert [f.alert_date for f in rules.bounced_only_alerts(early, days[0], days[20], T)] == []
    # a rise under bounced_only_min_rise does not fire, however unusual: 17 / 117 = 14.5 %,
    # 4.6 points above the median (z 3.9)
    small = daily.copy()
    small.loc[30, "bounced_only_users"] = 17
    assert rules.bounced_only_alerts(small, days[-1], days[-1], T) == []
    lower = dataclasses.replace(T, bounced_only_min_rise=0.02)
    assert len(rules.bounced_only_alerts(small, days[-1], days[-1], lower)) == 1
    share = pd.Series([0.1, 0.2] * 10 + [0.0])
    z = rules.robust_z(share, 28, 14)
    med, mad = 0.15, 0.05
    assert z.iloc[-1] == pytest.approx(0.6745 * (0.0 - med) / mad)


def test_campaign_heavy_day_above_half():
    days = pd.DataFrame({"activity_date": [dt.date(2025, 1, d) for d in (1, 2, 3)],
                         "engaged_visits": [100, 100, 0],
                         "engaged_visits_without_campaign": [49, 50, 0]})
    fired = rules.campaign_alerts(days, dt.date(2025, 1, 1), dt.date(2025, 1, 3), T)
    assert names(fired) == [("campaign_heavy_day", dt.date(2025, 1, 1))]
    assert fired[0].value == pytest.approx(0.51)


# fct_alerts across runs and the webhook

def firing(day: int, alert: str = "quick_ratio_low", value: float = 0.5) -> rules.Firing:
    return rules.Firing(dt.date(2025, 3, day), alert, "", value, 1.0, f"{alert} on {day}")


NOW = pd.Timestamp("2025-03-10 01:00", tz="UTC")


def test_rerun_replaces_the_evaluated_days_and_keeps_when_they_were_recorded():
    first = merge(None, [firing(1), firing(5)], (dt.date(2025, 3, 1), dt.date(2025, 3, 5)),
                  set(), "run1", NOW)
    # a rerun of days 4-5: day 5 fires again (keeps its first record), day 1 is outside
    later = NOW + pd.Timedelta(hours=1)
    again = merge(first, [firing(5, value=0.4)], (dt.date(2025, 3, 4), dt.date(2025, 3, 5)),
                  {"quick_ratio_low"}, "run2", later)
    assert again["alert_date"].dt.day.tolist() == [1, 5]
    day5 = again.iloc[1]
    assert (day5["value"], day5["severity"], day5["run_id"], day5["recorded_at"]) == \
        (0.4, "block", "run1", NOW)
    # a rerun in which day 5 no longer fires drops it
    gone = merge(again, [], (dt.date(2025, 3, 5), dt.date(2025, 3, 5)), set(), "run3", NOW)
    assert gone["alert_date"].dt.day.tolist() == [1]


def _log(days: dict[str, list[int]], through: int) -> pd.DataFrame:
    firings = [firing(d, alert) for alert, ds in days.items() for d in ds]
    return merge(None, firings, (dt.date(2025, 3, 1), dt.date(2025, 3, through)), set(),
                 "r", NOW)


def test_an_alert_that_stays_true_is_one_episode_until_it_resolves():
    # bounced_only_spike is judged daily: days 1-3 are one episode, resolved on day 4
    # (judged, not firing); day 6 starts another. quick_ratio_low is judged on Sundays
    # (weeks end on 2 and 9 March): firing on both is one episode, still open.
    log = _log({"bounced_only_spike": [1, 2, 3, 6], "quick_ratio_low": [2, 9]}, 9)
    eps = rules.episodes(log, "week", dt.date(2025, 3, 9))
    got = [(e.alert, e.started.day, e.last_seen.day,
            e.resolved_on.day if e.resolved_on else None, e.days_firing)
           for e in eps.itertuples()]
    assert got == [("bounced_only_spike", 1, 3, 4, 3), ("bounced_only_spike", 6, 6, 7, 1),
                   ("quick_ratio_low", 2, 9, None, 2)]
    assert eps["first_message"].iloc[0] == "bounced_only_spike on 1"
    assert eps["last_message"].iloc[0] == "bounced_only_spike on 3"
    # judged only through day 3, the first episode is still open (ongoing)
    early = rules.episodes(_log({"bounced_only_spike": [1, 2, 3]}, 3), "week",
                           dt.date(2025, 3, 3))
    assert early["resolved_on"].tolist() == [None]
    # a month-grain growth alert continues from one month's end to the next
    monthly = rules.episodes(pd.DataFrame({
        "alert_date": [dt.date(2025, 1, 31), dt.date(2025, 2, 28), dt.date(2025, 4, 30)],
        "alert": "decline_rule", "subject": "", "severity": "warn", "value": 0.1,
        "threshold": 0.2, "message": "m"}), "month", dt.date(2025, 5, 31))
    assert [(e.started, e.resolved_on) for e in monthly.itertuples()] == [
        (dt.date(2025, 1, 31), dt.date(2025, 3, 31)),
        (dt.date(2025, 4, 30), dt.date(2025, 5, 31))]


class _Hook(BaseHTTPRequestHandler):
    received: list = []
    fail = False

    def do_POST(self):  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Hook.fail:
            self.send_response(503)
        else:
            _Hook.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received, _Hook.fail = [], False
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def _episodes(days: dict[str, list[int]], through: int, previous=None) -> pd.DataFrame:
    return track(previous, rules.episodes(_log(days, through), "week",
                                          dt.date(2025, 3, through)))


def test_webhook_posts_an_episode_when_it_starts_and_when_it_resolves(webhook):
    # run of day 3: bounced-only spike since day 1 -> one post (its start), not three
    eps = _episodes({"bounced_only_spike": [1, 2, 3]}, 3)
    assert notify(eps, webhook, dt.date(2025, 3, 3), 7, LOG, NOW) == {
        "sent": 1, "failed": 0, "too_old": 0}
    assert [(p["event"], p["started"], p["message"]) for p in _Hook.received] == [
        ("start", "2025-03-01", "bounced_only_spike on 1")]
    # run of day 4: still firing -> ongoing, nothing posted
    eps = _episodes({"bounced_only_spike": [1, 2, 3, 4]}, 4, eps)
    assert eps["state"].tolist() == ["open"]
    assert notify(eps, webhook, dt.date(2025, 3, 4), 7, LOG, NOW)["sent"] == 0
    # run of day 5: not firing -> resolved, posted once; a rerun of day 5 posts nothing
    eps = _episodes({"bounced_only_spike": [1, 2, 3, 4]}, 5, eps)
    assert (eps["state"].tolist(), eps["resolve_notify"].tolist()) == (["resolved"], ["pending"])
    assert notify(eps, webhook, dt.date(2025, 3, 5), 7, LOG, NOW)["sent"] == 1
    eps = _episodes({"bounced_only_spike": [1, 2, 3, 4]}, 5, eps)
    assert notify(eps, webhook, dt.date(2025, 3, 5), 7, LOG, NOW)["sent"] == 0
    assert [(p["event"], p["resolved_on"], p["days_firing"]) for p in _Hook.received] == [
        ("start", None, 3), ("resolved", "2025-03-05", 4)]
    assert _Hook.received[1]["message"].startswith(
        "resolved on 2025-03-05 after 4 firing(s) since 2025-03-01; last: ")


def test_webhook_retries_failures_and_skips_what_is_too_old(webhook):
    # a backfill through day 20: the episode of days 1-2 resolved long ago (too old);
    # the one of days 18-20 is open and recent
    eps = _episodes({"quick_ratio_low": [2], "bounced_only_spike": [1, 2, 18, 19, 20]}, 20)
    _Hook.fail = True
    counts = notify(eps, webhook, dt.date(2025, 3, 20), 7, LOG, NOW)
    # too old: the first bounced episode's start and resolution, quick ratio's start
    # and resolution (judged on Sunday 9 March)
    assert counts == {"sent": 0, "failed": 1, "too_old": 4}
    assert eps["notify_error"].tolist()[1] == "HTTP 503"
    _Hook.fail = False
    assert notify(eps, webhook, dt.date(2025, 3, 20), 7, LOG, NOW) == {
        "sent": 1, "failed": 0, "too_old": 0}  # the next run retries
    assert [(p["alert"], p["event"], p["started"]) for p in _Hook.received] == [
        ("bounced_only_spike", "start", "2025-03-18")]
    assert eps["notify_attempts"].tolist() == [0, 2, 0]
    assert notify(eps, webhook, dt.date(2025, 3, 20), 7, LOG, NOW) == {
        "sent": 0, "failed": 0, "too_old": 0}


def test_unreachable_webhook_never_raises():
    eps = _episodes({"bounced_only_spike": [9]}, 9)
    counts = notify(eps, "http://127.0.0.1:9/nothing-listens", dt.date(2025, 3, 9), 7, LOG, NOW)
    assert counts["failed"] == 1 and eps["start_notify"].iloc[0] == "failed"
    eps = _episodes({"bounced_only_spike": [9]}, 9)
    assert notify(eps, None, dt.date(2025, 3, 9), 7, LOG, NOW)["sent"] == 0
    assert eps["start_notify"].iloc[0] == "pending"  # no URL: waits for one


def test_blocking_is_configured_per_alert(tmp_path):
    from orchestration.assets.alerts import build_alerts_asset
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, tmp_path / "landing",
                             alerts={"blocking": ["quick_ratio_low"]})
    specs = {s.name: s for s in build_alerts_asset(settings).check_specs}
    assert set(specs) == {f"alert_{name}" for name in rules.ALERTS}
    assert [n for n, s in specs.items() if s.blocking] == ["alert_quick_ratio_low"]
