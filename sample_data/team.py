"""The simulated operations team of the sample data: it works the worklist each week,
holds out a share of users as the export asks, and its actions have known true effects
(written under `_truth/action_effects.csv`), so the measured effects can be checked.

Each Monday the team contacts dormant users: signed up, inactive for at least a week
(their simulated life has ended) and not coming back by themselves within the longest
outcome window. So without the action they would neither return nor buy (both potential
outcomes are known), and each action's true effect is the share of its units that the
action brings back. Every user is in at most one action, once, so no action's effect
leaks into another's outcome window. Holdout users are landed too, with status withheld,
as a sending tool records its control group. A separate random stream: the rest of the
sample data is the same with or without the team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.loop import assignment, period_start

LONGEST_WINDOW = 30  # days: the dormant users stay away at least this long by themselves


@dataclass(frozen=True)
class Action:
    key: str  # scheme:segment of the playbook
    channel: str
    cost: float  # per treated contact
    returns: float  # true effect: extra share of units with an active day within 10 days
    buys: bool  # a return comes with a paid order (a coupon)


ACTIONS = (
    Action("lifecycle:churned", "sms", 0.05, 0.08, False),  # win-back: +8 points of return
    Action("churn_risk:high", "coupon", 0.50, 0.03, True),  # coupon: +3 points of conversion
    Action("churn_risk:churned", "push", 0.01, 0.0, False),  # a reminder that does nothing
)
REACH = 0.3  # share of the eligible users the team reaches each week
FAILED = 0.05  # share of sends that fail (intent-to-treat: they count as treated)


@dataclass
class Team:
    contacts: pd.DataFrame
    events: pd.DataFrame  # the visits the actions caused
    orders: pd.DataFrame
    caused: dict[str, dt.date]  # user -> the day of the visit an action caused
    effects: pd.DataFrame  # per action: units and the true uplifts


def simulate_team(start: dt.date, days: int, seed: int, users: pd.DataFrame,
                  holdout_share: float = 0.1, period_days: int = 28) -> Team:
    """`users`: the generator's users with _signup_day, _churn_day, _return_day and
    platform."""
    rng = np.random.default_rng([seed, 7])
    signup = users["_signup_day"].to_numpy()
    churn = users["_churn_day"].to_numpy()
    back = users["_return_day"].to_numpy()
    taken = np.zeros(len(users), dtype=bool)
    units = []
    # the last units leave their visits (up to 10 days on) inside the generated days
    for day in range(14, days - 10, 7):
        dormant = ((signup < day) & (churn >= 0) & (churn <= day - 7)
                   & ((back < 0) | (back > day + LONGEST_WINDOW)) & ~taken)
        for action in ACTIONS:
            pick = np.nonzero(dormant & ~taken & (rng.random(len(users)) < REACH))[0]
            taken[pick] = True
            for i in pick:
                units.append((day, action, i))
    return _units_to_rows(start, users, units, rng, holdout_share, period_days)


def _units_to_rows(start: dt.date, users: pd.DataFrame, units: list, rng: np.random.Generator,
                   holdout_share: float, period_days: int) -> Team:
    contacts, events, orders, per_action = [], [], [], {a.key: [] for a in ACTIONS}
    caused: dict[str, dt.date] = {}
    user_ids = users["user_id"].to_numpy()
    platform = users["platform"].to_numpy()
    origin = pd.Timestamp(start, tz="UTC")
    for n, (day, action, i) in enumerate(units):
        uid, sent_day = user_ids[i], start + dt.timedelta(days=day)
        group = assignment(uid, action.key, period_start(sent_day, period_days), holdout_share)
        sent = origin + pd.Timedelta(days=day, seconds=int(rng.integers(9 * 3600, 11 * 3600)))
        # both potential outcomes of every unit: without the action nothing happens; with
        # it, the message must reach the user and the user must respond
        delivered, responds = rng.random() >= FAILED, rng.random() < action.returns
        visit_day = day + int(rng.integers(1, 11))
        per_action[action.key].append(delivered and responds)
        treated = group == "treatment"
        contacts.append({
            "contact_id": f"c{n:07d}", "user_id": uid, "action_key": action.key,
            "channel": action.channel, "sent_time": sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "assignment": group,
            "status": ("delivered" if delivered else "failed") if treated else "withheld",
            "cost": action.cost if treated else 0.0,
        })
        if treated and delivered and responds:
            events += _visit(origin, n, uid, platform[i], visit_day, action.buys, rng)
            caused[uid] = start + dt.timedelta(days=visit_day)
            if action.buys:
                orders.append({
                    "order_id": f"oL{n:07d}", "user_id": uid,
                    "order_time": origin + pd.Timedelta(days=visit_day, seconds=13 * 3600),
                    "amount": round(float(rng.lognormal(3.3, 0.6)), 2), "currency": "USD",
                    "status": "paid"})
    effects = pd.DataFrame([{
        "action_key": key, "units": len(hits),
        "true_return_uplift": float(np.mean(hits)) if hits else 0.0,
        "true_conversion_uplift": float(np.mean(hits)) if hits and action.buys else 0.0,
    } for action in ACTIONS for key, hits in [(action.key, per_action[action.key])]])
    return Team(pd.DataFrame(contacts), pd.DataFrame(events), pd.DataFrame(orders), caused,
                effects)


def _visit(origin: pd.Timestamp, n: int, uid: str, plat: str, day: int, buys: bool,
           rng: np.random.Generator) -> list[dict]:
    """An engaged visit at noon: an opener and key events over a few minutes."""
    names = ["page_view" if plat == "web" else "app_open", "search", "view_item"]
    names += ["add_to_cart"] if buys else ["view_item"]
    begin = origin + pd.Timedelta(days=day, seconds=12 * 3600)
    step = int(rng.integers(30, 120))
    return [{
        "event_id": f"eL{n:07d}-{k}", "user_id": uid, "event_name": name,
        "event_time": begin + pd.Timedelta(seconds=k * step),
        "session_id": None if plat == "web" else f"sL{n:07d}", "platform": plat,
        "campaign_id": None, "properties": f'{{"duration_s": {step if k else 0}}}',
    } for k, name in enumerate(names)]
