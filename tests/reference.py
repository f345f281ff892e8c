"""Independent pandas reference implementations of docs/METRICS.md definitions,
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
        campaign_id=("campaign_id", "min"),  # a visit's campaign: the first id by name
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


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def user_days(events: pd.DataFrame, orders: pd.DataFrame, tz: str = "UTC") -> pd.DataFrame:
    """(user_id, activity_date) with any event or any order."""
    parts = [
        pd.DataFrame({"user_id": df["user_id"],
                      "activity_date": pd.to_datetime(df[col], utc=True).dt.tz_convert(tz).dt.date})
        for df, col in ((events, "event_time"), (orders, "order_time"))
    ]  # fmt: skip
    return pd.concat(parts).drop_duplicates().reset_index(drop=True)


def actives_by_value(
    seen: pd.DataFrame,
    active: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    every_day_values: tuple = (),
) -> pd.DataFrame:
    """Per day and value: DAU, rolling WAU/MAU, week- and month-to-date actives.
    `seen` and `active` have user_id, activity_date, value. A value has a row on
    a day with any `seen` row in the 28 days ending on it (or always, if listed)."""
    seen_by = seen.groupby("value")["activity_date"].apply(set).to_dict()
    act = {(v, d): set(g["user_id"]) for (v, d), g in active.groupby(["value", "activity_date"])}
    rows = []
    for day in days_between(first, last):
        window = {day - dt.timedelta(days=k) for k in range(28)}
        values = set(every_day_values) | {v for v, ds in seen_by.items() if ds & window}
        for v in values:

            def users(since: dt.date, v=v, day=day) -> int:
                out: set = set()
                for d in days_between(since, day):
                    out |= act.get((v, d), set())
                return len(out)

            rows.append({
                "activity_date": day, "breakdown_value": v,
                "dau": users(day), "wau": users(day - dt.timedelta(days=6)),
                "mau": users(day - dt.timedelta(days=27)),
                "calendar_week_actives": users(day - dt.timedelta(days=day.weekday())),
                "calendar_month_actives": users(day.replace(day=1)),
            })  # fmt: skip
    return pd.DataFrame(rows)


def tier(index: int, high: int = 12, mid: int = 4) -> str:
    return "high" if index >= high else "mid" if index >= mid else "low" if index >= 1 else "none"


def engagement_daily(
    engaged: pd.DataFrame, seen: pd.DataFrame, first: dt.date, last: dt.date, window: int = 28
) -> pd.DataFrame:
    """Per day and user with any user-day in the trailing window: the engagement
    index (engaged visits in the window) and the tier. `engaged` has user_id,
    activity_date, engaged (visits); `seen` has user_id, activity_date."""
    eng = engaged.groupby(["user_id", "activity_date"])["engaged"].sum().to_dict()
    seen_days = seen.groupby("user_id")["activity_date"].apply(sorted).to_dict()
    rows = []
    for day in days_between(first, last):
        lo = day - dt.timedelta(days=window - 1)
        for user, ds in seen_days.items():
            in_window = [d for d in ds if lo <= d <= day]
            if in_window:
                idx = sum(eng.get((user, d), 0) for d in in_window)
                rows.append(
                    {
                        "activity_date": day,
                        "user_id": user,
                        "engagement_index": idx,
                        "activity_tier": tier(idx),
                    }
                )
    return pd.DataFrame(rows)


def robust_z(series: list[float], window: int = 28, min_history: int = 14) -> list[float | None]:
    """z = 0.6745 (x - median) / MAD against up to `window` earlier values."""
    out: list[float | None] = []
    for i, x in enumerate(series):
        hist = pd.Series(series[max(0, i - window) : i], dtype=float)
        if len(hist) < min_history:
            out.append(None)
            continue
        med = hist.median()
        mad = (hist - med).abs().median()
        out.append(None if mad == 0 else 0.6745 * (x - med) / mad)
    return out


def period_of(day: dt.date, grain: str) -> dt.date:
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def previous_period(start: dt.date, grain: str) -> dt.date:
    if grain == "day":
        return start - dt.timedelta(days=1)
    if grain == "week":
        return start - dt.timedelta(days=7)
    return (start - dt.timedelta(days=1)).replace(day=1)


def next_period(start: dt.date, grain: str) -> dt.date:
    if grain == "day":
        return start + dt.timedelta(days=1)
    if grain == "week":
        return start + dt.timedelta(days=7)
    return (start + dt.timedelta(days=32)).replace(day=1)


def growth_accounting(
    active: pd.DataFrame, revenue: pd.DataFrame, first_day: dt.date, snapshot: dt.date, grain: str
) -> pd.DataFrame:
    """docs/METRICS.md growth accounting per period. `active`: user_id, activity_date
    of active days; `revenue`: user_id, activity_date, amount (paid)."""
    act = active.assign(p=[period_of(d, grain) for d in active["activity_date"]])
    users_in = act.groupby("p")["user_id"].apply(set).to_dict()
    first = act.groupby("user_id")["p"].min().to_dict()
    rev = revenue.assign(p=[period_of(d, grain) for d in revenue["activity_date"]])
    rev_by = rev.groupby(["p", "user_id"])["amount"].sum().to_dict()
    first_paid = rev[rev["amount"] > 0].groupby("user_id")["p"].min().to_dict()
    rows, p = [], period_of(first_day, grain)
    while p <= snapshot:
        q = previous_period(p, grain)
        now, before = users_in.get(p, set()), users_in.get(q, set())
        payers_now = {u for (pp, u), a in rev_by.items() if pp == p and a > 0}
        payers_before = {u for (pp, u), a in rev_by.items() if pp == q and a > 0}
        both = payers_now & payers_before
        r = lambda u, period: rev_by.get((period, u), 0.0)  # noqa: E731
        rows.append({
            "period_start": p,
            "active_users": len(now),
            "new_users": sum(1 for u in now if first[u] == p),
            "retained_users": len(now & before),
            "resurrected_users": sum(1 for u in now - before if first[u] < p),
            "churned_users": len(before - now),
            "new_revenue": sum(r(u, p) for u in payers_now if first_paid[u] == p),
            "retained_revenue": sum(min(r(u, p), r(u, q)) for u in both),
            "expansion_revenue": sum(max(r(u, p) - r(u, q), 0) for u in both),
            "contraction_revenue": sum(max(r(u, q) - r(u, p), 0) for u in both),
            "resurrected_revenue": sum(
                r(u, p) for u in payers_now - payers_before if first_paid[u] < p
            ),
            "churned_revenue": sum(r(u, q) for u in payers_before - payers_now),
        })  # fmt: skip
        p = next_period(p, grain)
    return pd.DataFrame(rows)


def retention(
    cohorts: pd.DataFrame, active: pd.DataFrame, snapshot: dt.date, grain: str
) -> pd.DataFrame:
    """Cohort retention "on" and "on or after" per cohort period and N, null
    where period N has not fully elapsed. `cohorts`: user_id, cohort_date."""
    cp = {
        u: period_of(d, grain)
        for u, d in zip(cohorts["user_id"], cohorts["cohort_date"], strict=True)
    }
    act = active[active["user_id"].isin(cp)]
    periods: dict[str, set] = {}
    for u, d in zip(act["user_id"], act["activity_date"], strict=True):
        if period_of(d, grain) >= cp[u]:
            periods.setdefault(u, set()).add(period_of(d, grain))
    rows = []
    for c in sorted(set(cp.values())):
        members = [u for u, p in cp.items() if p == c]
        p, n = c, 0
        while p <= snapshot:
            observable = next_period(p, grain) - dt.timedelta(days=1) <= snapshot
            on = sum(1 for u in members if p in periods.get(u, set()))
            after = sum(1 for u in members if any(x >= p for x in periods.get(u, set())))
            rows.append({"cohort_period": c, "period_number": n, "cohort_size": len(members),
                         "retained_on": on if observable else None,
                         "retained_on_or_after": after if observable else None})  # fmt: skip
            p, n = next_period(p, grain), n + 1
    return pd.DataFrame(rows)


def lifecycle_daily(
    units: pd.DataFrame,
    last: dt.date,
    churn_days: int = 30,
    new_days: int = 7,
    idle_days: int = 7,
    declining_ratio: float = 0.5,
    high_min: int = 12,
    window: int = 28,
) -> pd.DataFrame:
    """The lifecycle stage of docs/METRICS.md per user and day, from the user's first
    active day through `last`, with the stage of the day before (None on the first day)
    and cur / prev. `units`: user_id, activity_date, units (engagement units of the
    user's active days). Day by day, straight from the rules."""
    rows = []
    for user, g in units.groupby("user_id"):
        per_day = dict(zip(g["activity_date"], g["units"], strict=True))
        first = min(per_day)
        history: list[int] = []  # units of each day from `first`, 0 when idle
        previous = None
        last_active = None  # the latest active day so far (days since `first`)
        for day in days_between(first, last):
            history.append(int(per_day.get(day, 0)))
            i = len(history) - 1
            before = last_active  # the latest active day before today
            if history[i] > 0:
                last_active = i
            idle = i - last_active  # days since the latest active day (0: today)
            cur = sum(history[max(0, i - window + 1):])
            prev = sum(history[max(0, i - 2 * window + 1):max(0, i - window + 1)])
            if idle >= churn_days:
                stage = "churned"
            elif history[i] > 0 and before is not None and i - before > churn_days:
                stage = "reactivated"
            elif i < new_days:
                stage = "new"
            elif idle >= idle_days or cur < declining_ratio * prev:
                stage = "declining"
            elif cur >= high_min:
                stage = "mature"
            else:
                stage = "growing"
            rows.append({"activity_date": day, "user_id": user, "lifecycle_stage": stage,
                         "previous_stage": previous, "engagement_cur": cur,
                         "engagement_prev": prev})  # fmt: skip
            previous = stage
    return pd.DataFrame(rows)


def funnel_counts(events: pd.DataFrame, steps: list[str], within: dt.timedelta,
                  grain: str = "day", users: set[str] | None = None
                  ) -> dict[tuple[dt.date, int], int]:
    """Users per (period entered, step reached) of a sequential funnel (docs/METRICS.md,
    "Funnels"): a user enters in a period (day or ISO week) at their first event of step
    1 in it; step k is the first event of step k at or after step k - 1's, within
    `within` of entering. `users`: only these users (all when None)."""
    ev = events.assign(t=pd.to_datetime(events["event_time"], utc=True))
    ev = ev[ev["event_name"].isin(steps)].sort_values("t")
    if users is not None:
        ev = ev[ev["user_id"].isin(users)]
    out: dict[tuple[dt.date, int], int] = {}
    for _, g in ev.groupby("user_id"):
        starts = g[g["event_name"] == steps[0]]
        firsts = starts.groupby(starts["t"].dt.date.map(lambda d: period_of(d, grain)))["t"].min()
        for period, entered in firsts.items():
            t, reached = entered, 1
            for name in steps[1:]:
                later = g[(g["event_name"] == name) & (g["t"] >= t)
                          & (g["t"] <= entered + within)]
                if later.empty:
                    break
                t, reached = later["t"].iloc[0], reached + 1
            for k in range(1, reached + 1):
                out[(period, k)] = out.get((period, k), 0) + 1
    return out


def top_values(column: pd.Series, n: int) -> pd.Series:
    """Each user's value, kept among the n held by the most users (ties: by value), else
    'other' (docs/METRICS.md, "Breakdowns")."""
    counts = column.value_counts().rename_axis("v").reset_index(name="n")
    kept = set(counts.sort_values(["n", "v"], ascending=[False, True])["v"].head(n))
    return column.where(column.isin(kept), "other")
