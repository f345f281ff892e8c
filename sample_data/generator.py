"""Seeded synthetic product data with known ground truth.

Users arrive through channels of different quality, visit in sessions (some
bounced), fire key and passive events, see promotion campaigns (one of them a
one-day traffic spike), refer friends, place orders (some refunded or
cancelled), sit in an A/B test, churn, and some come back. Everything is
vectorised per day with numpy, so 5k users x 120 days take seconds and the
same code reaches 10M+ events for benchmarks.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sample_data.team import simulate_team

log = logging.getLogger(__name__)

# channel -> (share of signups, quality label, daily visit probability, mean lifetime days)
CHANNELS: dict[str, tuple[float, str, float, float]] = {
    "organic": (0.35, "high", 0.50, 70.0),
    "referral": (0.15, "high", 0.50, 70.0),
    "paid_search": (0.30, "mid", 0.35, 35.0),
    "social_ads": (0.20, "low", 0.22, 12.0),
}
PLATFORMS = np.array(["ios", "android", "web"])
# the users' own column region (an attribute the landing keeps), drawn from its own random
# stream so every other row is as without it
REGIONS = np.array(["east", "north", "south", "west", "overseas"])
KEY_EVENTS = np.array(["search", "view_item", "add_to_cart", "share", "comment"])
KEY_EVENT_WEIGHTS = np.array([0.3, 0.35, 0.15, 0.1, 0.1])
SPRING_CAMPAIGN = "spring_sale"
SPIKE_CAMPAIGN = "flash_spike"


EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("user_id", pa.string()), ("event_name", pa.string()),
    ("event_time", pa.timestamp("us", tz="UTC")), ("session_id", pa.string()),
    ("platform", pa.string()), ("campaign_id", pa.string()), ("properties", pa.string()),
])


def _positions(counts: np.ndarray) -> np.ndarray:
    """0..k-1 for each count k, concatenated (np.concatenate of aranges, without the loop)."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def _ids(prefix: str, n: int, width: int) -> pa.Array:
    """prefix + zero-padded 0..n-1, e.g. e0003-0000042."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


@dataclass(frozen=True)
class GeneratorParams:
    users: int = 5000
    days: int = 120
    seed: int = 42
    start: dt.date = dt.date(2025, 1, 1)
    bounce_rate: float = 0.15
    return_rate: float = 0.2  # share of churned users who come back
    spike_day: int | None = None  # default: 60 % into the range
    spike_share: float = 0.6  # of the users alive and not visiting, the campaign brings
    outage_day: int | None = None  # a day on which almost nobody can use the product
    team: bool = True  # the simulated team's contacts, holdouts and effects (sample_data/team.py)
    # The product's shape (benchmarks/alert_quality.py): "launch" (signups front-loaded,
    # the demo), "steady" (constant signups), "growing" (signups rising through the
    # range) or "sparse" (constant signups, users active every few weeks).
    shape: str = "launch"
    spring_campaign: bool = True  # a week of campaign traffic at 25 % of the range
    # Incidents, each on one day (None: none): most visits bounce; a share of the users
    # alive that day leave for good; from that day on, one channel's signups come in
    # bursts (every 5th day) instead of evenly.
    bounce_spike_day: int | None = None
    churn_burst_day: int | None = None
    erratic_channel_day: int | None = None
    # A funnel break (benchmarks/alert_quality.py): from funnel_break_day, for
    # funnel_break_days, this share of one platform's view_item events is lost (the item
    # page fails on one app), drawn from its own stream so every other row stays as without
    # (breaking add_to_cart would change the orders, and every random draw after them).
    funnel_break_day: int | None = None
    funnel_break_days: int = 14
    funnel_break_platform: str = "android"
    funnel_break_event: str = "view_item"
    funnel_break_share: float = 0.6


@dataclass
class GeneratedData:
    users: pd.DataFrame
    events: pd.DataFrame
    orders: pd.DataFrame
    experiment_assignments: pd.DataFrame
    channel_costs: pd.DataFrame
    truth: pd.DataFrame
    spike_date: dt.date
    contacts: pd.DataFrame | None = None
    action_effects: pd.DataFrame | None = None
    campaign_costs: pd.DataFrame | None = None


def _users(p: GeneratorParams, rng: np.random.Generator) -> pd.DataFrame:
    n = p.users
    names = list(CHANNELS)
    shares = np.array([CHANNELS[c][0] for c in names])
    channel = np.array(names)[rng.choice(len(names), size=n, p=shares / shares.sum())]
    # Signups spread over the range, a little front-loaded as a launch would be.
    spread = {"launch": (1.0, 1.3), "steady": (1.0, 1.0), "sparse": (1.0, 1.0),
              "growing": (1.6, 1.0)}
    if p.shape not in spread:
        raise ValueError(f"shape {p.shape!r}: one of {', '.join(spread)}")
    signup_day = np.minimum((rng.beta(*spread[p.shape], size=n) * p.days).astype(int),
                            p.days - 1)
    order = np.argsort(signup_day, kind="stable")
    channel, signup_day = channel[order], signup_day[order]
    seconds = rng.integers(6 * 3600, 23 * 3600, size=n)
    signup_time = (
        pd.Timestamp(p.start, tz="UTC")
        + pd.to_timedelta(signup_day, unit="D")
        + pd.to_timedelta(seconds, unit="s")
    )
    quality = np.array([CHANNELS[c][1] for c in channel])
    visit_p = np.array([CHANNELS[c][2] for c in channel]) * rng.uniform(0.6, 1.4, size=n)
    lifetime = rng.exponential([CHANNELS[c][3] for c in channel]).astype(int) + 1
    churn_day = signup_day + lifetime
    churn_day = np.where(churn_day < p.days, churn_day, -1)
    comes_back = (churn_day >= 0) & (rng.random(n) < p.return_rate)
    return_day = np.where(comes_back, churn_day + 30 + rng.integers(1, 30, size=n), -1)
    return_day = np.where(return_day < p.days, return_day, -1)
    if p.shape == "sparse":  # a visit every few weeks, and lives three times as long
        visit_p = visit_p * 0.12
        churn_day = np.where(churn_day >= 0, signup_day + 3 * lifetime, -1)
        churn_day = np.where(churn_day < p.days, churn_day, -1)
        return_day = np.where(return_day >= 0, churn_day + 30 + rng.integers(1, 30, size=n),
                              -1)
        return_day = np.where((churn_day >= 0) & (return_day < p.days), return_day, -1)
    if p.churn_burst_day is not None:  # a third of the users alive that day leave for good
        d = p.churn_burst_day
        alive = (signup_day < d) & ((churn_day < 0) | (churn_day > d)) & (
            (return_day < 0) | (return_day > d))
        leave = alive & (rng.random(n) < 1 / 3)
        churn_day = np.where(leave, d, churn_day)
        return_day = np.where(leave, -1, return_day)
    if p.erratic_channel_day is not None:  # paid_search signups from then on in bursts
        later = (channel == "paid_search") & (signup_day >= p.erratic_channel_day)
        burst = p.erratic_channel_day + (signup_day - p.erratic_channel_day) // 5 * 5
        moved = np.minimum(burst, p.days - 1)
        lifetime_left = churn_day - signup_day
        signup_day = np.where(later, moved, signup_day)
        churn_day = np.where(later & (churn_day >= 0), signup_day + lifetime_left, churn_day)
        churn_day = np.where(churn_day < p.days, churn_day, -1)
        order = np.argsort(signup_day, kind="stable")
        channel, signup_day, churn_day, return_day = (
            channel[order], signup_day[order], churn_day[order], return_day[order])
        quality, visit_p = quality[order], visit_p[order]
        seconds = seconds[order]
        signup_time = (pd.Timestamp(p.start, tz="UTC") + pd.to_timedelta(signup_day, unit="D")
                       + pd.to_timedelta(seconds, unit="s"))
    user_id = np.array([f"u{i:07d}" for i in range(1, n + 1)])
    referrer = np.full(n, None, dtype=object)
    is_ref = (channel == "referral") & (np.arange(n) > 10)
    idx = np.nonzero(is_ref)[0]
    referrer[idx] = user_id[(rng.random(idx.size) * idx).astype(int)]  # an earlier user
    variant = np.where(rng.random(n) < 0.5, "control", "treatment")
    in_experiment = signup_day < max(1, p.days // 2)
    visit_p = np.where(in_experiment & (variant == "treatment"), visit_p * 1.15, visit_p)
    return pd.DataFrame(
        {
            "user_id": user_id,
            "signup_time": signup_time,
            "channel": channel,
            "referrer_user_id": referrer,
            "platform": PLATFORMS[rng.choice(3, size=n, p=[0.4, 0.35, 0.25])],
            "region": REGIONS[np.random.default_rng([p.seed, 30]).choice(
                len(REGIONS), size=n, p=[0.35, 0.3, 0.2, 0.1, 0.05])],
            "_signup_day": signup_day,
            "_quality": quality,
            "_visit_p": np.clip(visit_p, 0.02, 0.95),
            "_churn_day": churn_day,
            "_return_day": return_day,
            "_variant": np.where(in_experiment, variant, None),
        }
    )


def _alive(u: pd.DataFrame, day: int) -> np.ndarray:
    s, c, r = u["_signup_day"].to_numpy(), u["_churn_day"].to_numpy(), u["_return_day"].to_numpy()
    first_life = (s <= day) & ((c < 0) | (day < c))
    second_life = (r >= 0) & (day >= r)
    return first_life | second_life


def _day_events(
    p: GeneratorParams, u: pd.DataFrame, day: int, rng: np.random.Generator, spring: range
) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(u)
    alive = _alive(u, day)
    visits = alive & (rng.random(n) < u["_visit_p"].to_numpy())
    visits |= u["_signup_day"].to_numpy() == day  # everyone shows up on signup day
    # Campaigns bring extra visits from users who would not have come that day;
    # all their events carry the campaign_id (regular visits stay untagged).
    campaign = np.full(n, None, dtype=object)
    for active_campaign, share in (
        (SPRING_CAMPAIGN, 0.15 if day in spring and p.spring_campaign else 0.0),
        (SPIKE_CAMPAIGN, p.spike_share if day == p.spike_day else 0.0),
    ):
        if share:
            extra = alive & ~visits & (rng.random(n) < share)
            visits |= extra
            campaign[extra] = active_campaign
    if day == p.outage_day:
        visits &= rng.random(n) < 0.1
    uidx = np.nonzero(visits)[0]
    if uidx.size == 0:
        return EVENT_SCHEMA.empty_table(), pd.DataFrame()
    n_sessions = np.minimum(1 + rng.poisson(0.6, size=uidx.size), 4)
    s_user = np.repeat(uidx, n_sessions)
    s_k = _positions(n_sessions)
    ns = s_user.size
    # Sessions of a user sit in disjoint slots of the day so they never merge.
    slot = 86400 // 4
    s_start = s_k * slot + rng.integers(0, slot - 3600, size=ns)
    bounced = rng.random(ns) < (0.6 if day == p.bounce_spike_day else p.bounce_rate)
    n_ev = np.where(bounced, 1, 2 + rng.poisson(4, size=ns))
    # Capped so that a visit always ends before midnight (slot start + 3000 s < 24 h).
    dur = np.where(bounced, 0, np.minimum(rng.exponential(480, size=ns).astype(int), 2985) + 15)
    e_sess = np.repeat(np.arange(ns), n_ev)
    e_pos = _positions(n_ev)
    ne = e_sess.size
    offs = np.where(
        n_ev[e_sess] > 1, (dur[e_sess] * e_pos / np.maximum(n_ev[e_sess] - 1, 1)).astype(int), 0
    )
    plat = u["platform"].to_numpy()[s_user]
    opener = np.where(plat == "web", "page_view", "app_open")
    key = KEY_EVENTS[rng.choice(len(KEY_EVENTS), size=ne, p=KEY_EVENT_WEIGHTS)]
    names = np.where(rng.random(ne) < 0.3, "page_view", key)
    names = np.where(e_pos == 0, opener[e_sess], names)
    # Some bounced visits still carry a key event: pseudo-activity that must not count.
    bounced_key = bounced[e_sess] & (rng.random(ne) < 0.3)
    names = np.where(bounced_key, "search", names)
    if p.funnel_break_day is not None and 0 <= day - p.funnel_break_day < p.funnel_break_days:
        lost = np.random.default_rng([p.seed, day, 20]).random(ne) < p.funnel_break_share
        lost &= (names == p.funnel_break_event) & (plat[e_sess] == p.funnel_break_platform)
        names = np.where(lost, "page_view", names)
    day_start = pd.Timestamp(p.start, tz="UTC") + pd.Timedelta(days=day)
    start_us = day_start.value // 1000
    ev_us = start_us + (s_start[e_sess] + offs).astype("int64") * 1_000_000
    sess_camp = campaign[s_user]
    user_ids = u["user_id"].to_numpy()
    sess_id = _ids(f"s{day:04d}-", ns, 6)
    is_web = plat[e_sess] == "web"
    # Built with Arrow kernels, not per-row Python: 100 M events must generate in minutes.
    events = pa.table(
        {
            "event_id": _ids(f"e{day:04d}-", ne, 7),
            "user_id": pa.array(user_ids[s_user][e_sess], pa.string()),
            "event_name": pa.array(names, pa.string()),
            "event_time": pa.array(ev_us, pa.timestamp("us", tz="UTC")),
            "session_id": pc.if_else(pa.array(is_web), pa.scalar(None, pa.string()),
                                     pc.take(sess_id, pa.array(e_sess))),
            "platform": pa.array(plat[e_sess], pa.string()),
            "campaign_id": pa.array(sess_camp[e_sess], pa.string()),
            "properties": pc.binary_join_element_wise(
                '{"duration_s": ', pc.cast(pa.array(np.diff(offs, prepend=0)), pa.string()),
                "}", ""),
        }
    )
    # Orders: some sessions with an add_to_cart convert.
    cart = np.zeros(ns, dtype=bool)
    np.logical_or.at(cart, e_sess, (names == "add_to_cart") & ~bounced[e_sess])
    buy = cart & (rng.random(ns) < 0.35)
    bidx = np.nonzero(buy)[0]
    status = np.array(["paid", "refunded", "cancelled"])[
        rng.choice(3, size=bidx.size, p=[0.9, 0.06, 0.04])
    ]
    orders = pd.DataFrame(
        {
            "order_id": [f"o{day:04d}-{i:06d}" for i in range(bidx.size)],
            "user_id": user_ids[s_user[bidx]],
            "order_time": day_start + pd.to_timedelta(s_start[bidx] + dur[bidx], unit="s"),
            "amount": np.round(rng.lognormal(3.3, 0.6, size=bidx.size), 2),
            "currency": "USD",
            "status": status,
        }
    )
    return events, orders


def _events_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    # as pandas built it before: an object column of str and None (it is mostly missing)
    frame["campaign_id"] = pd.Series(table["campaign_id"].to_pylist(), dtype=object)
    return frame


def _prepared(p: GeneratorParams) -> tuple[GeneratorParams, np.random.Generator, pd.DataFrame]:
    if p.users < 1 or p.days < 1:
        raise ValueError("users and days must be at least 1")
    rng = np.random.default_rng(p.seed)
    if p.spike_day is None:
        p = GeneratorParams(**{**p.__dict__, "spike_day": int(p.days * 0.6)})
    return p, rng, _users(p, rng)


def _days(p: GeneratorParams, u: pd.DataFrame, rng: np.random.Generator):
    """(day, events, orders) for each day in order; one day in memory at a time."""
    spring = range(int(p.days * 0.25), int(p.days * 0.25) + 7)
    for day in range(p.days):
        yield (day, *_day_events(p, u, day, rng, spring))


def generate(p: GeneratorParams) -> GeneratedData:
    """Generate a whole data set in memory. Deterministic for equal params."""
    p, rng, u = _prepared(p)
    ev_parts, ord_parts = [], []
    for _, ev, od in _days(p, u, rng):
        ev_parts.append(ev)
        ord_parts.append(od)
    events = _events_frame(pa.concat_tables(ev_parts))
    orders = pd.concat([o for o in ord_parts if len(o)], ignore_index=True)
    if not p.team:
        return _finish(p, u, events, orders)
    team = simulate_team(p.start, p.days, p.seed, u)
    if len(team.events):
        caused = team.events.assign(event_time=pd.to_datetime(team.events["event_time"]))
        events = pd.concat([events, caused.astype({"event_time": events["event_time"].dtype})],
                           ignore_index=True).sort_values("event_time", kind="stable",
                                                          ignore_index=True)
    if len(team.orders):
        orders = pd.concat([orders, team.orders], ignore_index=True)
    data = _finish(p, u, events, orders)
    data.contacts, data.action_effects = team.contacts, team.effects
    # a churned user an action brought back was active that day: the truth says so
    data.truth["caused_visit_date"] = pd.to_datetime(data.truth["user_id"].map(team.caused))
    return data


def _finish(p: GeneratorParams, u: pd.DataFrame, events: pd.DataFrame,
            orders: pd.DataFrame) -> GeneratedData:
    in_exp = u["_variant"].notna()
    assignments = pd.DataFrame(
        {
            "experiment_id": "onboarding_v2",
            "variant": u.loc[in_exp, "_variant"].to_numpy(),
            "user_id": u.loc[in_exp, "user_id"].to_numpy(),
            "assigned_time": u.loc[in_exp, "signup_time"].to_numpy(),
        }
    )
    daily_new = u.groupby(["_signup_day", "channel"]).size().reset_index(name="n")
    cost_per_user = {"organic": 0.0, "referral": 2.0, "paid_search": 6.0, "social_ads": 4.0}
    costs = pd.DataFrame(
        {
            "date": [p.start + dt.timedelta(days=int(d)) for d in daily_new["_signup_day"]],
            "channel": daily_new["channel"],
            "spend": np.round(daily_new["n"] * daily_new["channel"].map(cost_per_user), 2),
        }
    )
    start = pd.Timestamp(p.start)

    def to_date(d: np.ndarray) -> np.ndarray:
        return np.where(d >= 0, start + pd.to_timedelta(np.maximum(d, 0), unit="D"), pd.NaT)

    truth = pd.DataFrame(
        {
            "user_id": u["user_id"],
            "channel": u["channel"],
            "channel_quality": u["_quality"],
            "platform": u["platform"],
            "signup_date": (start + pd.to_timedelta(u["_signup_day"], unit="D")).dt.date,
            "churn_date": pd.to_datetime(to_date(u["_churn_day"].to_numpy())).date,
            "return_date": pd.to_datetime(to_date(u["_return_day"].to_numpy())).date,
            "variant": u["_variant"],
        }
    )
    users = u[["user_id", "signup_time", "channel", "referrer_user_id", "region"]].copy()
    spike_date = p.start + dt.timedelta(days=p.spike_day or 0)
    spring_start = int(p.days * 0.25)
    campaign_costs = pd.DataFrame(  # what the two campaigns cost, per day they ran
        [(SPRING_CAMPAIGN, p.start + dt.timedelta(days=d), 150.0)
         for d in range(spring_start, min(spring_start + 7, p.days)) if p.spring_campaign]
        + [(SPIKE_CAMPAIGN, spike_date, 800.0)] * (0 <= (p.spike_day or 0) < p.days),
        columns=["campaign_id", "date", "spend"])
    return GeneratedData(users, events, orders, assignments, costs, truth, spike_date,
                         campaign_costs=campaign_costs)


def write_landing(data: GeneratedData, out: Path, params: GeneratorParams) -> dict[str, int]:
    """Write a landing directory: events as daily Parquet files, users as CSV,
    orders as JSON lines, plus ground truth under `_truth/` (ignored by the loader)."""
    out = Path(out)
    for sub in ("events", "users", "orders", "experiment_assignments", "channel_costs", "_truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    day = data.events["event_time"].dt.strftime("%Y%m%d")
    for d, part in data.events.groupby(day, sort=True):
        part.to_parquet(out / "events" / f"events_{d}.parquet", index=False)
    users = data.users.copy()
    users["signup_time"] = users["signup_time"].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
    users.to_csv(out / "users" / "users.csv", index=False)
    orders = data.orders.copy()
    orders["order_time"] = orders["order_time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    orders.to_json(out / "orders" / "orders.jsonl", orient="records", lines=True)
    assignments = data.experiment_assignments.copy()
    assignments["assigned_time"] = pd.to_datetime(assignments["assigned_time"], utc=True)
    assignments.to_csv(out / "experiment_assignments" / "assignments.csv", index=False)
    data.channel_costs.to_csv(out / "channel_costs" / "channel_costs.csv", index=False)
    if data.campaign_costs is not None and len(data.campaign_costs):
        (out / "campaign_costs").mkdir(exist_ok=True)
        data.campaign_costs.to_csv(out / "campaign_costs" / "campaign_costs.csv", index=False)
    if data.contacts is not None and len(data.contacts):
        (out / "contacts").mkdir(exist_ok=True)
        data.contacts.to_csv(out / "contacts" / "contacts.csv", index=False)
        data.action_effects.to_csv(out / "_truth" / "action_effects.csv", index=False)
    for sub in ("events", "users", "orders", "experiment_assignments", "channel_costs",
                "campaign_costs", "contacts"):
        if not (out / sub).is_dir():
            continue
        # the landing's mark of whole files (as Hadoop's): read at once, no settle wait
        (out / sub / "_SUCCESS").touch()
    data.truth.to_parquet(out / "_truth" / "users_truth.parquet", index=False)
    meta = {k: str(v) for k, v in params.__dict__.items()}
    meta["spike_date"] = str(data.spike_date)
    (out / "_truth" / "params.json").write_text(json.dumps(meta, indent=2))
    counts = {
        "users": len(data.users),
        "events": len(data.events),
        "orders": len(data.orders),
        "experiment_assignments": len(data.experiment_assignments),
        "channel_costs": len(data.channel_costs),
    }
    log.info("wrote landing to %s: %s", out, counts)
    return counts


def stream_landing(p: GeneratorParams, out: Path) -> dict[str, int]:
    """Generate straight to a landing directory with one file per day for every entity
    (events_YYYYMMDD.parquet, orders_YYYYMMDD.jsonl, users_YYYYMMDD.csv by signup day),
    holding one day in memory: the benchmark's way to 100 M events. The data are those of
    `generate` with the same params; a landing of the first N days is a prefix of it."""
    p, rng, u = _prepared(p)
    out = Path(out)
    for sub in ("events", "users", "orders", "_truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    counts = {"events": 0, "orders": 0, "users": 0}
    signup_day = u["_signup_day"].to_numpy()
    for day, events, orders in _days(p, u, rng):
        stamp = (p.start + dt.timedelta(days=day)).strftime("%Y%m%d")
        if events.num_rows:
            pq.write_table(events, out / "events" / f"events_{stamp}.parquet")
        if len(orders):
            orders = orders.assign(order_time=orders["order_time"].dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ"))
            orders.to_json(out / "orders" / f"orders_{stamp}.jsonl", orient="records",
                           lines=True)
        users = u.loc[signup_day == day, ["user_id", "signup_time", "channel",
                                          "referrer_user_id", "region"]]
        if len(users):
            users.assign(signup_time=users["signup_time"].dt.strftime("%Y-%m-%dT%H:%M:%S%z")
                         ).to_csv(out / "users" / f"users_{stamp}.csv", index=False)
        counts["events"] += events.num_rows
        counts["orders"] += len(orders)
        counts["users"] += len(users)
        if day % 30 == 29:
            log.info("generated %d of %d days: %s", day + 1, p.days, counts)
    meta = {k: str(v) for k, v in p.__dict__.items()}
    (out / "_truth" / "params.json").write_text(json.dumps({**meta, **counts}, indent=2))
    return counts


def users_for_events(events: int, days: int, seed: int = 42, pilot_users: int = 2000) -> int:
    """How many users make about `events` events over `days` days: a pilot run of
    `pilot_users` measures events per user (it grows with days: lifetimes, returns)."""
    p, rng, u = _prepared(GeneratorParams(users=pilot_users, days=days, seed=seed))
    made = sum(ev.num_rows for _, ev, _ in _days(p, u, rng))
    return max(1, round(events * pilot_users / max(made, 1)))
