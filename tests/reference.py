"""Independent pandas reference implementations of METRICS.md definitions,
written from the definitions (not from the SQL) to check the dbt models."""

from __future__ import annotations

import datetime as dt

import pandas as pd

PASSIVE = {"page_view", "app_open"}


def visits(
    events: pd.DataFrame,
    tz: str = "UTC",
    timeout_min: int = 30,
    min_events: int = 2,
    min_seconds: int = 10,
    passive=PASSIVE,
) -> pd.DataFrame:
    """One row per visit: user_id, activity_date, events, is_bounced, is_engaged."""
    ev = events.copy()
    ev["event_time"] = pd.to_datetime(ev["event_time"], utc=True)
    ev["activity_date"] = ev["event_time"].dt.tz_convert(tz).dt.date
    ev["is_key"] = ~ev["event_name"].isin(passive)
    ev = ev.sort_values(["user_id", "activity_date", "event_time", "event_id"])
    has_id = ev["session_id"].notna() if "session_id" in ev else pd.Series(False, index=ev.index)
    keys = pd.Series("", index=ev.index, dtype=object)
    keys[has_id] = "id-" + ev.loc[has_id, "session_id"].astype(str)
    gap = ev[~has_id]
    prev = gap.groupby(["user_id", "activity_date"])["event_time"].shift()
    new = prev.isna() | ((gap["event_time"] - prev).dt.total_seconds() > timeout_min * 60)
    num = new.astype(int).groupby([gap["user_id"], gap["activity_date"]]).cumsum()
    keys[~has_id] = "gap-" + num.astype(str)
    ev["visit_key"] = keys
    g = ev.groupby(["user_id", "activity_date", "visit_key"])
    v = g.agg(
        events=("event_id", "size"),
        key_events=("is_key", "sum"),
        start=("event_time", "min"),
        end=("event_time", "max"),
        campaign_events=("campaign_id", "count"),
    ).reset_index()
    dur = (v["end"] - v["start"]).dt.total_seconds()
    v["is_bounced"] = (v["events"] < min_events) | (dur < min_seconds)
    v["is_engaged"] = ~v["is_bounced"] & (v["key_events"] > 0)
    return v


def active_user_days(events: pd.DataFrame, **kw) -> pd.DataFrame:
    v = visits(events, **kw)
    a = v[v["is_engaged"]][["user_id", "activity_date"]].drop_duplicates()
    return a


def active_users_daily(active: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """DAU, rolling WAU (7 d) and MAU (28 d) for every day first..last."""
    rows = []
    by_day = {d: set(g["user_id"]) for d, g in active.groupby("activity_date")}
    day = first
    while day <= last:

        def window(n: int, day=day) -> set:
            users: set = set()
            for k in range(n):
                users |= by_day.get(day - dt.timedelta(days=k), set())
            return users

        rows.append(
            {
                "activity_date": day,
                "dau": len(by_day.get(day, set())),
                "wau": len(window(7)),
                "mau": len(window(28)),
            }
        )
        day += dt.timedelta(days=1)
    return pd.DataFrame(rows)
