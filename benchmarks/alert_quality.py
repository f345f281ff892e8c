"""uv run python -m benchmarks.alert_quality [--shapes steady,growing,sparse] [--seeds 1]

Do the alerts fire on incidents and stay quiet otherwise? For each product shape
(sample_data/generator.py: `steady` constant signups, `growing` rising signups, `sparse`
users active every few weeks) two landings of the same seed are generated: one without
incidents (no campaigns either) and one with five injected incidents:

  day 100  outage          almost nobody can use the product
  day 115  bounce spike    most visits bounce
  day 130  erratic channel paid_search signups come in bursts from then on
  day 140  funnel break    for 14 days, 60 % of android's view_item events are lost
  day 150  churn burst     a third of the users alive that day leave for good
  day 170  campaign day    a campaign brings most of the day's engaged visits

Each landing is built by one run (landing and dbt models), then every alert is judged on
every day of days 80..199 (after the warm-up) as daily runs would judge it: the rules of
models/alerts.py on the built tables (the channel rule for each day, not only the last),
and the engagement trend's anomaly flag. Printed per shape and alert: false firings per
100 days on the incident-free landing (days firing, and episodes: what the webhook
posts), and per incident whether an alert meant for it fired within its allowance and
after how many days. Not measured here: high_risk_share_jump (needs a scoring per day)
and action_not_working (needs the simulated team's loop: benchmarks/loop_coverage.py).

Goal (issue 29): every incident caught within its allowance, and at most 1 false
episode per alert per 100 days on each shape. Results: benchmarks/results/alert_quality.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).parent / "results" / "alert_quality.json"
DAYS, WARM_UP = 200, 80
START = dt.date(2025, 1, 6)  # a Monday


@dataclass(frozen=True)
class Incident:
    name: str
    day: int
    param: str
    alerts: tuple[str, ...]  # the alerts meant to catch it
    allowance: int  # days from its start within which one of them must fire


INCIDENTS = (
    Incident("outage", 100, "outage_day", ("engagement_anomaly",), 1),
    Incident("bounce spike", 115, "bounce_spike_day", ("bounced_only_spike",), 1),
    Incident("erratic channel", 130, "erratic_channel_day", ("channel_unstable",), 28),
    Incident("funnel break", 140, "funnel_break_day", ("funnel_conversion_drop",), 7),
    # by the churn standard the burst shows churn_days (30) after it; the period alerts
    # of growth accounting within two weeks
    Incident("churn burst", 150, "churn_burst_day",
             ("decline_rule", "quick_ratio_low", "net_growth_negative"), 44),
    Incident("campaign day", 170, "spike_day", ("campaign_heavy_day",), 1),
)
MEASURED = ("decline_rule", "quick_ratio_low", "net_growth_negative", "channel_unstable",
            "bounced_only_spike", "campaign_heavy_day", "engagement_anomaly",
            "funnel_conversion_drop")
# the funnel the landings configure (the generator's key events, in a plausible order)
FUNNEL = ("funnels:\n  discovery:\n    steps: [search, view_item, add_to_cart]\n"
          "    within_hours: 2\n    breakdowns: [platform, channel]\n")
USERS = {"steady": 4000, "growing": 4000, "sparse": 6000}


def _day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def build(shape: str, seed: int, incidents: bool, root: Path):
    """One landing built by one run; its settings."""
    from orchestration.runner import run_pipeline
    from orchestration.settings import Settings
    from sample_data.generator import GeneratorParams, generate, write_landing

    extra = ({i.param: i.day for i in INCIDENTS} | {"spike_share": 0.95} if incidents
             else {"spike_day": -1})
    params = GeneratorParams(users=USERS[shape], days=DAYS, seed=seed, start=START,
                             shape=shape, team=False, spring_campaign=False, **extra)
    write_landing(generate(params), root / "landing", params)
    config = root / "userops.yaml"
    config.write_text(f"paths:\n  landing: {root / 'landing'}\n"
                      f"  warehouse: {root / 'warehouse.duckdb'}\n"
                      "schedule:\n  enabled: false\nlanding:\n  settle_seconds: 0\n"
                      + FUNNEL)
    settings = Settings.build(config)
    run_pipeline(settings, START, _day(DAYS - 1), log_level="ERROR", models_only=True)
    return settings


def judge(settings, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Every firing (alert_date, alert, subject) of the measured alerts on first..last."""
    from models import alerts as rules
    from models.funnel_alert import funnel_drop_alerts
    from orchestration.model_settings import alert_thresholds, funnel_drop_settings, funnel_lags
    from orchestration.resources import warehouse_for

    t = alert_thresholds(settings.config)
    grain = settings.config.alerts.period
    wh = warehouse_for(settings)
    flow = wh.query("select * from marts.fct_user_base_flow where grain = ?", [grain])
    growth = wh.query("select * from marts.fct_growth_accounting where grain = ?", [grain])
    signups = wh.query(
        "select channel, signup_date, count(*) as new_users from intermediate.int_user_cohorts "
        "where signup_date is not null group by channel, signup_date")
    daily = wh.query(
        "select activity_date, dau, bounced_only_users from marts.fct_active_users_daily "
        "where breakdown = 'all' order by activity_date")
    days = wh.query(
        "select activity_date, sum(engaged_visits) as engaged_visits, "
        "sum(engaged_visits_without_campaign) as engaged_visits_without_campaign "
        "from intermediate.int_user_days group by activity_date order by activity_date")
    trend = wh.query("select activity_date from marts.fct_engagement_trend "
                     "where is_anomaly and activity_date between ? and ?", [first, last])
    funnel = wh.query(
        "select funnel, activity_date, breakdown, breakdown_value, step_number, step, users "
        "from marts.fct_funnel_daily")
    firings = [*funnel_drop_alerts(funnel, funnel_lags(settings.config), first, last,
                                   funnel_drop_settings(settings.config)),
               *rules.decline_alerts(flow, grain, first, last, t),
               *rules.growth_alerts(growth, grain, first, last, t),
               *rules.bounced_only_alerts(daily, first, last, t),
               *rules.campaign_alerts(days, first, last, t)]
    signups["signup_date"] = pd.to_datetime(signups["signup_date"]).dt.date
    day = first
    while day <= last:
        firings += rules.channel_alerts(signups[signups["signup_date"] <= day], day, t)
        day += dt.timedelta(days=1)
    rows = [(f.alert_date, f.alert, f.subject) for f in firings]
    rows += [(pd.Timestamp(d).date(), "engagement_anomaly", "") for d in
             trend["activity_date"]]
    return pd.DataFrame(rows, columns=["alert_date", "alert", "subject"])


def episode_starts(fired: pd.DataFrame, grain: str, last: dt.date) -> pd.DataFrame:
    from models import alerts as rules

    log = fired.assign(severity="warn", value=0.0, threshold=0.0, message="")
    return rules.episodes(log, grain, last)


def measure(shape: str, seed: int, root: Path) -> dict:
    first, last = _day(WARM_UP), _day(DAYS - 1)
    span = (last - first).days + 1
    out: dict = {"shape": shape, "seed": seed, "days_judged": span, "alerts": {},
                 "incidents": []}
    quiet = build(shape, seed, False, root / "quiet")
    fired = judge(quiet, first, last)
    eps = episode_starts(fired, quiet.config.alerts.period, last)
    for alert in MEASURED:
        out["alerts"][alert] = {
            "false_days_per_100": round(100 * int((fired["alert"] == alert).sum()) / span, 2),
            "false_episodes_per_100": round(100 * int((eps["alert"] == alert).sum()) / span, 2)}
    noisy = build(shape, seed, True, root / "incidents")
    fired = judge(noisy, first, last)
    for alert in MEASURED:  # firings with the incidents, for comparison
        out["alerts"][alert]["incident_days_per_100"] = round(
            100 * int((fired["alert"] == alert).sum()) / span, 2)
    for inc in INCIDENTS:
        begin = _day(inc.day)
        hits = fired[fired["alert"].isin(inc.alerts) & (fired["alert_date"] >= begin)
                     & (fired["alert_date"] <= begin + dt.timedelta(days=inc.allowance))]
        first_hit = hits.sort_values("alert_date").iloc[0] if len(hits) else None
        each = {a: (hits.loc[hits["alert"] == a, "alert_date"].min() - begin).days
                for a in inc.alerts if (hits["alert"] == a).any()}
        out["incidents"].append({
            "incident": inc.name, "day": str(begin), "allowance_days": inc.allowance,
            "caught": first_hit is not None,
            "by": first_hit["alert"] if first_hit is not None else None,
            "days_to_fire": (first_hit["alert_date"] - begin).days
            if first_hit is not None else None,
            "days_to_fire_by_alert": each})
    return out


def report(results: list[dict]) -> str:
    lines = []
    for r in results:
        lines.append(f"\n{r['shape']} (seed {r['seed']}, days judged {r['days_judged']})")
        lines.append(f"  {'alert':<22}{'false days/100':>16}{'false episodes/100':>20}"
                     f"{'days/100 with incidents':>25}")
        for alert, v in r["alerts"].items():
            mark = "" if v["false_episodes_per_100"] <= 1 else "   > 1"
            lines.append(f"  {alert:<22}{v['false_days_per_100']:>16.2f}"
                         f"{v['false_episodes_per_100']:>20.2f}"
                         f"{v.get('incident_days_per_100', float('nan')):>25.2f}{mark}")
        for i in r["incidents"]:
            got = (f"caught by {i['by']} after {i['days_to_fire']} d" if i["caught"]
                   else "MISSED")
            others = {a: d for a, d in i["days_to_fire_by_alert"].items() if a != i["by"]}
            if others:
                got += " (" + ", ".join(f"{a} {d} d" for a, d in others.items()) + ")"
            lines.append(f"  incident {i['incident']:<16} (allowance {i['allowance_days']:>2} d): "
                         f"{got}")
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    """Over the seeds, per shape: false episodes per 100 days per alert (mean) and each
    incident's catches with the days to the first firing (median)."""
    import statistics

    shapes = list(dict.fromkeys(r["shape"] for r in results))
    lines = ["false episodes per 100 days (mean over seeds; goal <= 1):",
             f"  {'alert':<22}" + "".join(f"{s:>10}" for s in shapes)]
    for alert in MEASURED:
        cells = [statistics.mean(r["alerts"][alert]["false_episodes_per_100"]
                                 for r in results if r["shape"] == s) for s in shapes]
        lines.append(f"  {alert:<22}" + "".join(f"{c:>10.2f}" for c in cells))
    lines.append("incidents caught within their allowance (median days to the first firing):")
    for inc in INCIDENTS:
        cells = []
        for s in shapes:
            got = [i for r in results if r["shape"] == s for i in r["incidents"]
                   if i["incident"] == inc.name]
            days = [i["days_to_fire"] for i in got if i["caught"]]
            caught = f"{len(days)}/{len(got)}"
            cells.append(f"{caught} ({statistics.median(days):g} d)" if days else caught)
        lines.append(f"  {inc.name:<22}" + "".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.alert_quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="steady,growing,sparse")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--summarise", type=Path, metavar="JSON",
                   help="print the summary of a results file, run nothing")
    args = p.parse_args(argv)
    if args.summarise:
        print(summary(json.loads(args.summarise.read_text())["results"]))
        return 0
    logging.disable(logging.WARNING)
    results = []
    for shape in args.shapes.split(","):
        for seed in range(1, args.seeds + 1):
            with tempfile.TemporaryDirectory() as tmp:
                results.append(measure(shape, seed, Path(tmp)))
            print(report(results[-1:]), flush=True)
    print(summary(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": {"shapes": args.shapes, "seeds": args.seeds},
                                    "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
