"""The one configuration object: userops.yaml, validated once into typed settings.

Everything downstream (dbt vars, Python models, the Dagster schedule) receives
values from this object; nothing else reads the YAML file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG_PATH = Path("userops.yaml")

# Event names reach SQL only as escaped string literals; this pattern is a
# second fence that also keeps names readable in BI tools.
# Trackers' own names need a space, '$' and brackets ("Order Completed", "$revenue",
# "[Amplitude] Page Viewed"); quotes, backslashes and control characters stay out.
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:\-$ \[\]]{1,64}$")


def _plain_name(name: str | None) -> str | None:
    """Shared field check for every configured event or property name."""
    if name is not None and not _EVENT_NAME.match(name):
        raise ValueError(
            f"name {name!r} is not allowed: use 1-64 letters, digits, spaces, '_', '.', ':', "
            "'-', '$', '[', ']'"
        )
    return name


def _plain_keys(mapping: dict) -> dict:
    """`mapping` whose every key passes _plain_name (names of events, properties, columns,
    funnels, segments)."""
    for key in mapping:
        _plain_name(key)
    return mapping


class ConfigError(ValueError):
    """A configuration problem, with the offending key in the message."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(_Strict):
    landing: Path = Path("data/landing")
    warehouse: Path = Path("data/warehouse.duckdb")
    # null: beside the warehouse (orchestration/settings.py, beside_warehouse), so a
    # warehouse elsewhere never shares its run history or its serving file with another
    dagster_home: Path | None = None
    serving: Path | None = None


class ActivityConfig(_Strict):
    key_events: list[str] | None = Field(
        default=None, description="Event names that mean real use; null = all but passive ones."
    )
    passive_events: list[str] = Field(default_factory=lambda: ["page_view", "app_open"])
    known_events: list[str] | None = Field(
        default=None, description="If set, events with other names are quarantined."
    )
    session_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    bounce_min_events: int = Field(default=2, ge=1)
    bounce_min_seconds: int = Field(default=10, ge=0)
    source: Literal["auto", "events", "orders"] = Field(
        default="auto", description="What makes a user active; auto = orders when no events landed."
    )
    page_view_event: str = Field(
        default="page_view", description="the event counted as a page view (traffic quality)")

    @field_validator("page_view_event")
    @classmethod
    def _page_view_plain(cls, name: str) -> str:
        return _plain_name(name) or name

    @field_validator("key_events", "passive_events", "known_events")
    @classmethod
    def _names_are_plain(cls, names: list[str] | None) -> list[str] | None:
        for name in names or []:
            _plain_name(name)
        return names


class EngagementConfig(_Strict):
    window_days: int = Field(default=28, ge=1, le=366, description="engagement index window")
    tier_high_min: int = Field(default=12, ge=2, description="index >= this is tier high")
    tier_mid_min: int = Field(default=4, ge=2, description="index >= this (and < high) is mid")
    trend_window_days: int = Field(default=28, ge=7, le=366)
    trend_min_history_days: int = Field(default=14, ge=3)
    anomaly_z: float = Field(default=3.5, gt=0)
    anomaly_min_change: float = Field(
        default=0.2, ge=0, lt=1, description="and the day differs from the trailing median "
        "by at least this share of it: a statistically unusual but small move is no incident")
    weights: dict[str, int] = Field(
        default_factory=dict,
        description="key event -> weight of a visit with it (the heaviest counts; others 1)")

    @field_validator("weights")
    @classmethod
    def _plain_weights(cls, weights: dict[str, int]) -> dict[str, int]:
        for name, weight in weights.items():
            _plain_name(name)
            if not 1 <= weight <= 100:
                raise ValueError(f"weights.{name}: {weight} is not a whole number 1-100")
        return weights

    @model_validator(mode="after")
    def _tiers_ordered(self) -> EngagementConfig:
        if self.tier_mid_min >= self.tier_high_min:
            raise ValueError("tier_mid_min must be below tier_high_min")
        if self.trend_min_history_days > self.trend_window_days:
            raise ValueError("trend_min_history_days must not exceed trend_window_days")
        return self


class ExperimentsConfig(_Strict):
    engagement_days: int = Field(default=14, ge=1, le=366)
    control_variant: str = "control"
    confidence: float = Field(default=0.95, gt=0, lt=1)


class LifecycleConfig(_Strict):
    churn_days: int = Field(default=30, ge=2, description="inactive this long: churned")
    new_days: int = Field(default=7, ge=1, description="first active less than this ago: new")
    declining_inactive_days: int = Field(default=7, ge=1)
    declining_ratio: float = Field(default=0.5, gt=0, lt=1, description="cur < ratio x prev")

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleConfig:
        if self.declining_inactive_days >= self.churn_days:
            raise ValueError("declining_inactive_days must be below churn_days")
        return self


class ProductStageConfig(_Strict):
    decline_periods: int = Field(default=2, ge=1)
    growth_rate: float = Field(default=0.10, gt=0)
    introduction_periods: int = Field(default=3, ge=1)


class ChannelsConfig(_Strict):
    stability_window_days: int = Field(default=28, ge=2)
    stable_max_cv: float = Field(default=0.5, gt=0)
    conversion_days: int = Field(default=30, ge=1)


class FunnelConfig(_Strict):
    activation_event: str | None = Field(
        default=None, description="event name; null = any engaged visit"
    )
    activation_days: int = Field(default=7, ge=1)
    retention_from_day: int = Field(default=8, ge=2)
    retention_to_day: int = Field(default=14, ge=2)
    revenue_days: int = Field(default=30, ge=1)
    signup_days: int = Field(
        default=7, ge=1, description="a new visitor converts when it signs up within this"
    )

    @field_validator("activation_event")
    @classmethod
    def _plain(cls, name: str | None) -> str | None:
        return _plain_name(name)

    @model_validator(mode="after")
    def _ordered(self) -> FunnelConfig:
        if self.retention_to_day < self.retention_from_day:
            raise ValueError("retention_to_day must not be below retention_from_day")
        return self


class FunnelStep(_Strict):
    """A funnel step: an event, optionally with property values it must carry."""

    event: str
    where: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("event")
    @classmethod
    def _plain(cls, name: str) -> str:
        return _plain_name(name) or name

    @field_validator("where")
    @classmethod
    def _plain_keys(cls, where: dict) -> dict:
        return _plain_keys(where)


class BreakdownsConfig(_Strict):
    """Breakdowns of the active-user, retention and lifecycle-count tables besides channel
    and platform (docs/METRICS.md, "Breakdowns")."""

    attributes: list[str] = Field(
        default_factory=list, description="the users' own columns (region, gender): each adds "
        "the breakdown attribute.<column>")
    top_values: int = Field(
        default=10, ge=1, le=100, description="values kept per attribute, those of the most "
        "users; the rest as 'other'")
    segment_weeks: int = Field(
        default=8, ge=1, le=53, description="ISO weeks, the snapshot's included, of the segment "
        "trend tables (fct_segment_*): the current members' activity, retention, lifecycle "
        "stages and funnels")

    @field_validator("attributes")
    @classmethod
    def _plain_columns(cls, columns: list[str]) -> list[str]:
        for column in columns:
            _plain_name(column)
        if len(set(columns)) < len(columns):
            raise ValueError("an attribute is listed twice")
        return columns


class NamedFunnel(_Strict):
    """One configured funnel (docs/METRICS.md, "Funnels")."""

    steps: list[str | FunnelStep] = Field(min_length=2, max_length=10)
    within_hours: float = Field(default=24, gt=0, le=24 * 90,
                                description="conversion window from the first step")
    breakdowns: list[str] = Field(
        default_factory=list, description="platform, channel, or attribute.<name>: a users' "
        "own column")
    top_values: int = Field(
        default=10, ge=1, le=100, description="an attribute breakdown keeps the values of "
        "the most users, the rest as 'other'")

    @field_validator("breakdowns")
    @classmethod
    def _known_breakdowns(cls, breakdowns: list[str]) -> list[str]:
        for b in breakdowns:
            if b not in ("platform", "channel") and not (
                    b.startswith("attribute.") and _plain_name(b.removeprefix("attribute."))):
                raise ValueError(f"unknown breakdown {b!r}: platform, channel or "
                                 "attribute.<column>")
        if len(set(breakdowns)) < len(breakdowns):
            raise ValueError("a breakdown is listed twice")
        return breakdowns

    def steps_as_dicts(self) -> list[dict[str, Any]]:
        """The steps for dbt: each `where` value as the text JSON gives it (3, true)."""
        return [{"event": s, "where": {}} if isinstance(s, str) else
                {"event": s.event, "where": {k: v if isinstance(v, str) else json.dumps(v)
                                             for k, v in s.where.items()}}
                for s in self.steps]


AttributeValue = str | int | float | bool


class Segment(_Strict):
    """A named group of users (用户分群, docs/METRICS.md "Segments"): every condition given
    must hold (a list: any of its values), as of the snapshot day."""

    attributes: dict[str, AttributeValue | list[AttributeValue]] = Field(
        default_factory=dict, description="users' own columns (kept as attributes), each "
        "compared as text")
    channel: list[str] | None = None
    platform: list[str] | None = Field(default=None, description="the first visit's platform")
    lifecycle: list[Literal["new", "growing", "mature", "declining", "churned",
                            "reactivated"]] | None = None
    tier: list[Literal["high", "mid", "low", "none"]] | None = None
    rfm11: list[str] | None = None
    cn8: list[str] | None = None
    risk_band: list[Literal["low", "medium", "high", "churned"]] | None = None
    signup_from: dt.date | None = None
    signup_to: dt.date | None = None
    min_events: dict[str, int] = Field(
        default_factory=dict, description="at least this many of each event (key: event "
        "name) over the `days` days ending on the snapshot day")
    days: int = Field(default=30, ge=1, le=3650, description="the window of min_events")

    @field_validator("attributes", "min_events")
    @classmethod
    def _plain_keys(cls, values: dict) -> dict:
        return _plain_keys(values)

    @model_validator(mode="after")
    def _some_condition(self) -> Segment:
        given = [k for k in type(self).model_fields if k != "days"
                 and getattr(self, k) not in (None, {}, [])]
        if not given:
            raise ValueError("a segment needs at least one condition")
        if self.signup_from and self.signup_to and self.signup_to < self.signup_from:
            raise ValueError("signup_to is before signup_from")
        if any(n < 1 for n in self.min_events.values()):
            raise ValueError("min_events counts must be at least 1")
        return self

    def as_var(self, name: str) -> dict[str, Any]:
        """The segment for dbt: values as text (as JSON gives them), lists everywhere."""
        def text(v: AttributeValue) -> str:
            return v if isinstance(v, str) else json.dumps(v)

        def listed(v) -> list[str]:
            return [text(x) for x in (v if isinstance(v, list) else [v])]

        return {"name": name,
                "attributes": {k: listed(v) for k, v in sorted(self.attributes.items())},
                **{k: getattr(self, k) for k in ("channel", "platform", "lifecycle", "tier",
                                                "rfm11", "cn8", "risk_band")},
                "signup_from": self.signup_from.isoformat() if self.signup_from else None,
                "signup_to": self.signup_to.isoformat() if self.signup_to else None,
                "min_events": dict(sorted(self.min_events.items())), "days": self.days}


class ValueConfig(_Strict):
    conversion_days: int = Field(
        default=30, ge=1, description="first-purchase conversion of new cohorts within this"
    )
    repeat_short_days: int = Field(default=30, ge=1, description="second purchase within this")
    repeat_long_days: int = Field(default=90, ge=1, description="... and within this")
    min_repeat_buyers: int = Field(
        default=20, ge=2, description="fewer repeat buyers: no BTYD fit yet (user_clv empty)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ValueConfig:
        if self.repeat_long_days < self.repeat_short_days:
            raise ValueError("repeat_long_days must not be below repeat_short_days")
        return self


class RfmConfig(_Strict):
    """R, F and M sources. null = paid orders (R: last paid order, F: paid orders, M: paid
    amount); an event name scores that event instead, M sums a numeric JSON property, and
    F may too (minutes watched) instead of counting the events."""

    recency_event: str | None = None
    frequency_event: str | None = None
    frequency_property: str | None = None
    monetary_event: str | None = None
    monetary_property: str | None = None
    window_days: int | None = Field(default=None, ge=1, description="F and M window; null = all")

    @field_validator("recency_event", "frequency_event", "frequency_property", "monetary_event",
                     "monetary_property")
    @classmethod
    def _plain(cls, name: str | None) -> str | None:
        return _plain_name(name)

    @model_validator(mode="after")
    def _property_with_event(self) -> RfmConfig:
        if (self.monetary_event is None) != (self.monetary_property is None):
            raise ValueError("monetary_event and monetary_property go together")
        if self.frequency_property is not None and self.frequency_event is None:
            raise ValueError("frequency_property needs frequency_event: orders have no "
                             "properties to sum")
        return self


class ChurnConfig(_Strict):
    horizon_days: int = Field(default=30, ge=1, description="churned = no activity this long")
    long_horizon_days: int = Field(default=90, ge=1, description="second BTYD horizon")
    snapshot_every_days: int = Field(default=7, ge=1, description="training snapshot spacing")
    min_training_rows: int = Field(default=100, ge=10)
    max_training_rows: int = Field(
        default=300_000, ge=1000,
        description="larger training sets are sampled (fixed seed) to this many rows")
    high_risk_min: float = Field(default=0.6, gt=0, lt=1)
    medium_risk_min: float = Field(default=0.3, gt=0, lt=1)
    holdout_days: int | None = Field(
        default=None, ge=1, description="orders-only evaluation holdout; null = horizon_days"
    )
    winback_min_probability: float = Field(
        default=0.0, ge=0, le=1, description="win-back list: probability of return at least"
    )
    backtest_folds: int = Field(
        default=4, ge=1, le=12, description="rolling-origin cut-offs the challengers meet on")
    backtest_step_days: int | None = Field(
        default=None, ge=1,
        description="days between cut-offs, a multiple of snapshot_every_days; null = the "
        "smallest one >= horizon_days, so a fold's labels are known by the next cut-off")
    candidates: list[Literal["recency", "bgnbd", "pareto_nbd", "supervised"]] = Field(
        default_factory=lambda: ["recency", "bgnbd", "pareto_nbd", "supervised"],
        description="the models that compete; recency is always one (the baseline)")
    champion_metric: Literal["auc", "average_precision"] = Field(
        default="auc", description="champion: best mean of this across folds ...")
    max_calibration_error: float = Field(
        default=0.1, gt=0, le=1, description="... among candidates whose mean calibrated "
        "expected calibration error stays at or below this")
    drift_auc_margin: float = Field(
        default=0.05, ge=0, le=1,
        description="WARN when the champion's latest-fold AUC falls this much below its "
        "previous run's, or below the recency baseline's")
    backtest_max_training_rows: int = Field(
        default=100_000, ge=1000,
        description="each fold's supervised model fits on a fixed-seed sample of this many")
    btyd_max_customers: int = Field(
        default=50_000, ge=1000,
        description="BTYD challengers are fitted on a fixed-seed sample of this many users")

    @model_validator(mode="after")
    def _ordered(self) -> ChurnConfig:
        if self.medium_risk_min >= self.high_risk_min:
            raise ValueError("medium_risk_min must be below high_risk_min")
        if self.backtest_step_days and self.backtest_step_days % self.snapshot_every_days:
            raise ValueError("backtest_step_days must be a multiple of snapshot_every_days")
        if "recency" not in self.candidates:
            raise ValueError("candidates must include recency (the baseline)")
        return self

    @property
    def evaluation_holdout_days(self) -> int:
        return self.holdout_days or self.horizon_days

    @property
    def step_days(self) -> int:
        every = self.snapshot_every_days
        return self.backtest_step_days or -(-self.horizon_days // every) * every


class SpecialUsersConfig(_Strict):
    core_active_weeks: int = Field(
        default=4, ge=1, description="core users and evangelists: active in each of these weeks")
    core_min_median_visit_minutes: float = Field(default=30.0, ge=0)
    core_min_spend_30d: float = Field(
        default=0.0, ge=0, description="where orders exist: spend over 30 days > 0 and >= this")
    angel_days: int = Field(
        default=7, ge=1, description="tier high scaled to these days, or a purchase, this early")
    evangelist_min_referrals: int = Field(default=3, ge=1)


class WarningsConfig(_Strict):
    """Churn warning signals (marts.fct_churn_warnings): when each one fires."""

    engagement_drop_ratio: float = Field(
        default=0.5, gt=0, lt=1, description="engagement halved: cur < this x prev")
    idle_gap_factor: float = Field(
        default=2.0, gt=1, description="idle longer than usual: idle days > this x usual gap")
    min_gaps: int = Field(default=2, ge=1, description="usual gap needs this many gaps")
    gap_history_days: int = Field(default=90, ge=7, description="usual gap over these days")
    tier_compare_days: int = Field(default=7, ge=1, description="tier dropped since then")
    key_event_min_count: int = Field(
        default=3, ge=1, description="stopped a key event done this often in prev window")
    shorter_visit_ratio: float = Field(
        default=0.5, gt=0, lt=1, description="visits shorter: median cur < this x prev")
    min_visits: int = Field(default=3, ge=1, description="visits needed in prev window")
    purchase_overdue_factor: float = Field(
        default=1.5, gt=1, description="overdue: days since purchase > this x usual gap")


AlertName = Literal[
    "decline_rule", "quick_ratio_low", "net_growth_negative", "channel_unstable",
    "high_risk_share_jump", "bounced_only_spike", "campaign_heavy_day", "action_not_working",
    "funnel_conversion_drop",
]


class AlertsConfig(_Strict):
    """Business alerts (asset fct_alerts and its checks): thresholds and what blocks."""

    period: Literal["week", "month"] = Field(
        default="week", description="grain of the growth-accounting alerts")
    noise_z: float = Field(
        default=2.0, gt=0, description="the period alerts (decline_rule, quick_ratio_low, "
        "net_growth_negative) fire only on a shortfall of at least this many standard "
        "errors of its counts (Poisson), so a period's noise does not fire them")
    quick_ratio_min: float = Field(default=1.0, ge=0)
    net_growth_negative_periods: int = Field(default=2, ge=1)
    high_risk_share_jump: float = Field(
        default=0.05, gt=0, lt=1, description="share of high-risk users rose by this much")
    bounced_only_z: float = Field(default=3.5, gt=0, description="robust z of the share")
    bounced_only_min_rise: float = Field(
        default=0.05, ge=0, lt=1, description="bounced_only_spike: and the share at least "
        "this much above the trailing median (5 points)")
    campaign_share_max: float = Field(
        default=0.5, gt=0, le=1, description="engaged visits from campaigns above this share")
    channel_dispersion_p: float = Field(
        default=0.001, gt=0, lt=1, description="channel_unstable also needs the daily "
        "signups overdispersed against Poisson counts at this p-value (chi-square test of the "
        "variance-to-mean ratio): a small channel's CV is high by chance alone")
    channel_compare_days: int = Field(
        default=7, ge=1, description="channel_unstable: the CV compared with this many days "
        "before")
    funnel_recent_days: int = Field(
        default=7, ge=1, le=60, description="funnel_conversion_drop: a step's conversion "
        "among the users who entered on this many days (the latest whose window has closed)")
    funnel_baseline_days: int = Field(
        default=28, ge=2, le=365, description="... against the entry days before them")
    funnel_min_users: int = Field(
        default=100, ge=1, description="... each window holding at least this many users at "
        "the previous step, per funnel, step and breakdown value")
    funnel_drop_p: float = Field(
        default=0.001, gt=0, lt=1, description="... a one-sided two-proportion test (its "
        "variance widened by the baseline days' overdispersion) below this p-value, divided "
        "by the number of cells judged that day (Bonferroni)")
    funnel_min_relative_drop: float = Field(
        default=0.1, ge=0, lt=1, description="... and a fall of at least this share of the "
        "baseline conversion (0.1: 40 % to 36 % or lower)")
    blocking: list[AlertName] = Field(
        default_factory=list, description="alerts that stop the publish (default: WARN only)")
    webhook_env: str = Field(
        default="USEROPS_ALERT_WEBHOOK",
        description="environment variable holding the webhook URL; unset = no notification")
    notify_max_age_days: int = Field(
        default=7, ge=0, description="older firings (a backfill's) are recorded, not posted")


class LoopConfig(_Strict):
    """Closing the loop: holdouts in the worklist and the measured effect of actions."""

    holdout_share: float = Field(
        default=0.1, ge=0, lt=1,
        description="share of each action's users held out (not contacted), by a stable hash")
    assignment_period_days: int = Field(
        default=28, ge=1,
        description="a user keeps its group for an action this long (periods from a Monday)")
    outcome_days: list[int] = Field(
        default_factory=lambda: [14, 30],
        description="windows after the first contact in which return, conversion and "
        "revenue count; the first is the one the verdict and the worklist use")
    min_users: int = Field(
        default=50, ge=1, description="per group: fewer users whose window elapsed, no verdict")
    min_effect: float = Field(
        default=0.02, gt=0, lt=1,
        description="the smallest return uplift worth having: 'no effect' once the interval "
        "rules it out")

    @field_validator("outcome_days")
    @classmethod
    def _windows(cls, days: list[int]) -> list[int]:
        if not days or any(d < 1 or d > 366 for d in days) or len(set(days)) != len(days):
            raise ValueError("outcome_days: one or more distinct windows of 1-366 days")
        return days


class PrivacyConfig(_Strict):
    personal_attributes: list[str] = Field(
        default_factory=list, description="user attribute keys hashed or dropped when published"
    )
    mode: Literal["hash", "drop"] = "hash"


# Purchases as events, per tracker (README, "Bring your data"): the event, and the
# property paths of the order id (null: the event's id), amount and currency.
ORDER_EVENT_PRESETS: dict[str, dict[str, str | None]] = {
    # Segment's e-commerce spec: "Order Completed" with order_id, revenue, currency
    "segment": {"event": "Order Completed", "order_id": "order_id", "amount": "revenue",
                "currency": "currency"},
    # GA4's recommended purchase event: transaction_id, value, currency
    "ga4": {"event": "purchase", "order_id": "transaction_id", "amount": "value",
            "currency": "currency"},
    # Amplitude's revenue events (revenue_amount) carry $revenue; no order id
    "amplitude": {"event": "revenue_amount", "order_id": None, "amount": "$revenue",
                  "currency": None},
}


class OrdersFromEventsConfig(_Strict):
    """Orders recorded as events: a preset, or the event and its property paths."""

    preset: Literal["segment", "ga4", "amplitude"] | None = None
    event: str | None = None
    order_id: str | None = Field(default=None, description="null: the event's id")
    amount: str | None = None
    currency: str | None = Field(default=None, description="null: USD")
    status: str | None = Field(default=None, description="null: every such event is paid")

    @field_validator("event", "order_id", "amount", "currency", "status")
    @classmethod
    def _plain(cls, name: str | None) -> str | None:
        return _plain_name(name)

    def resolved(self) -> dict[str, str | None]:
        """The preset's paths, each overridden by one given here."""
        base = dict(ORDER_EVENT_PRESETS[self.preset]) if self.preset else {}
        given = self.model_dump(exclude={"preset"}, exclude_none=True)
        out = {k: None for k in ("event", "order_id", "amount", "currency", "status")}
        return out | base | given

    @model_validator(mode="after")
    def _complete(self) -> OrdersFromEventsConfig:
        r = self.resolved()
        if r["event"] is None or r["amount"] is None:
            raise ValueError("from_events needs a preset, or an event and its amount property")
        return self


class OrdersConfig(_Strict):
    from_events: OrdersFromEventsConfig | None = None


class IncrementalConfig(_Strict):
    lookback_days: int = Field(default=2, ge=0, le=60)


class LandingConfig(_Strict):
    """Which landing files a run reads: files still being written wait for the next run."""

    settle_seconds: float = Field(
        default=60, ge=0,
        description="a file changed less than this long ago is left for the next run")
    in_flight_patterns: list[str] = Field(
        default_factory=lambda: ["*.tmp", "*.temp", "*._copying_", "*.part", "*.partial",
                                 "*.crdownload", "*.filepart", "*.inprogress", "*.uploading",
                                 "_*", ".*"],
        description="file names (glob, any case) that upload tools give a file in progress")
    format: dict[str, Literal["native", "segment", "ga4", "amplitude", "mixpanel",
                              "posthog", "snowplow"]] = Field(
        default_factory=dict,
        description="per entity folder, the export its files are in: native (the contract, "
        "the default) or a tracker's export (events only; README, Bring your data)")
    columns: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="per entity, contract column -> the files' own column name")
    time_unit: dict[str, Literal["seconds", "milliseconds", "microseconds"]] = Field(
        default_factory=dict,
        description="per entity, the unit of numeric times (epoch) in its files")

    @model_validator(mode="after")
    def _known_entities_and_columns(self) -> LandingConfig:
        from data_quality.contract import ENTITIES

        for key in ("format", "columns", "time_unit"):
            for entity in getattr(self, key):
                if entity not in ENTITIES:
                    raise ValueError(f"landing.{key}: unknown entity {entity!r} (entities: "
                                     f"{', '.join(ENTITIES)})")
        for entity, fmt in self.format.items():
            if fmt != "native" and entity != "events":
                raise ValueError(f"landing.format.{entity}: {fmt} is an export of events; "
                                 "other entities are native or mapped with landing.columns")
            if fmt != "native" and (entity in self.columns or entity in self.time_unit):
                raise ValueError(f"landing.format.{entity}: a preset ({fmt}) maps every "
                                 "column itself; drop landing.columns / time_unit for it")
        for entity, renames in self.columns.items():
            unknown = sorted(set(renames) - set(ENTITIES[entity].column_names))
            if unknown:
                raise ValueError(f"landing.columns.{entity}: unknown column(s) "
                                 f"{', '.join(unknown)} (the contract's: "
                                 f"{', '.join(ENTITIES[entity].column_names)})")
        return self


class QualityConfig(_Strict):
    max_bad_row_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    min_rows_per_file: int = Field(
        default=1000, ge=1,
        description="smaller files are judged with the run's other files of their entity")
    future_tolerance_hours: float = Field(default=24.0, ge=0.0)
    earliest_time: dt.date = Field(
        default=dt.date(1980, 1, 1), description="earlier times are quarantined (epoch zero)"
    )
    unreadable_files: Literal["quarantine", "fail"] = Field(
        default="quarantine",
        description="a file no reader can parse: recorded and skipped (WARN), or stop the run")


_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


class SparkConfig(_Strict):
    """Apache Spark as the warehouse (engine: spark). Credentials never live here: the
    token and user of a cluster come from USEROPS_SPARK_TOKEN and USEROPS_SPARK_USER."""

    method: Literal["session", "thrift", "http"] = Field(
        default="session",
        description="session: a SparkSession in this process (local, or on the cluster's "
        "driver); thrift / http: dbt talks to a Spark Thrift server or Databricks")
    master: str = Field(default="local[2]", description="session: the Spark master")
    driver_memory: str = Field(default="4g", description="session: spark.driver.memory")
    host: str | None = Field(default=None, description="thrift / http: the server")
    port: int = Field(default=443, ge=1, le=65535)
    cluster: str | None = Field(default=None, description="http: the Databricks cluster id")
    endpoint: str | None = Field(default=None, description="http: a SQL warehouse id")
    conf: dict[str, str] = Field(
        default_factory=dict, description="more Spark settings for the session")


class WarehouseConfig(_Strict):
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb", description="duckdb (embedded, one machine) or spark")
    memory_limit: str = Field(
        default="4GB",
        description="DuckDB's memory limit for every warehouse connection, dbt's too; "
        "larger joins spill to disk next to the warehouse file")
    spark: SparkConfig = SparkConfig()

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if not _MEMORY.match(value.strip()):
            raise ValueError(f"memory_limit {value!r} is not a size such as '6GB' or '512MB'")
        return value.strip()


class ScheduleConfig(_Strict):
    enabled: bool = True
    minutes_after_midnight: int = Field(default=30, ge=0, lt=24 * 60)
    keep_history_days: int = Field(
        default=90, ge=1,
        description="Dagster runs and published worklists older than this are deleted")
    max_catch_up_days: int = Field(
        default=31, ge=1,
        description="a catching-up run builds at most this many days (the oldest first); "
        "the next run goes on")


class ReportConfig(_Strict):
    language: Literal["en", "zh"] = Field(
        default="en", description="labels of the daily report (report.html): en or zh")


class UseropsConfig(_Strict):
    # null: the landing's first day
    start_date: dt.date | None = None
    timezone: str = "UTC"
    paths: PathsConfig = PathsConfig()
    activity: ActivityConfig = ActivityConfig()
    engagement: EngagementConfig = EngagementConfig()
    experiments: ExperimentsConfig = ExperimentsConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    product_stage: ProductStageConfig = ProductStageConfig()
    channels: ChannelsConfig = ChannelsConfig()
    funnel: FunnelConfig = FunnelConfig()
    breakdowns: BreakdownsConfig = BreakdownsConfig()
    funnels: dict[str, NamedFunnel] = Field(
        default_factory=dict, description="named funnels of event steps (docs/METRICS.md)")
    segments: dict[str, Segment] = Field(
        default_factory=dict, description="named groups of users (docs/METRICS.md)")
    value: ValueConfig = ValueConfig()
    rfm: RfmConfig = RfmConfig()
    churn: ChurnConfig = ChurnConfig()
    special_users: SpecialUsersConfig = SpecialUsersConfig()
    warnings: WarningsConfig = WarningsConfig()
    alerts: AlertsConfig = AlertsConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    loop: LoopConfig = LoopConfig()
    orders: OrdersConfig = OrdersConfig()
    incremental: IncrementalConfig = IncrementalConfig()
    landing: LandingConfig = LandingConfig()
    quality: QualityConfig = QualityConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    warehouse: WarehouseConfig = WarehouseConfig()
    report: ReportConfig = ReportConfig()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {tz!r}") from exc
        return tz

    @field_validator("funnels", "segments")
    @classmethod
    def _plain_names(cls, named: dict) -> dict:
        return _plain_keys(named)

    @field_validator("segments")
    @classmethod
    def _not_all(cls, segments: dict) -> dict:
        if "all" in segments:
            raise ValueError("'all' names every user in fct_segment_summary: pick another name")
        return segments

    @model_validator(mode="after")
    def _key_not_passive(self) -> UseropsConfig:
        overlap = set(self.activity.key_events or []) & set(self.activity.passive_events)
        if overlap:
            raise ValueError(f"activity: events both key and passive: {sorted(overlap)}")
        return self

    def passive_events(self) -> list[str]:
        """activity.passive_events, and with a tracker's export of events that tracker's
        own bookkeeping events (an identify call is not use)."""
        from data_quality.landing.presets import PASSIVE_EVENTS

        preset = PASSIVE_EVENTS.get(self.landing.format.get("events", "native"), ())
        return list(dict.fromkeys([*self.activity.passive_events, *preset]))

    def dbt_vars(self) -> dict[str, Any]:
        """Constant dbt vars. They do not change between runs, so dbt can
        partially parse; the run window travels through a table instead."""
        a, e = self.activity, self.engagement
        orders = self.orders.from_events.resolved() if self.orders.from_events else {
            k: None for k in ("event", "order_id", "amount", "currency", "status")}
        return {
            **{f"orders_event_{k}": v for k, v in orders.items()},
            "funnels": [{"name": name, "steps": f.steps_as_dicts(),
                         "within_seconds": round(f.within_hours * 3600),
                         "breakdowns": list(f.breakdowns), "top_values": f.top_values}
                        for name, f in sorted(self.funnels.items())],
            "segments": [seg.as_var(name) for name, seg in sorted(self.segments.items())],
            "breakdown_attributes": list(self.breakdowns.attributes),
            "breakdown_top_values": self.breakdowns.top_values,
            "segment_weeks": self.breakdowns.segment_weeks,
            "reporting_timezone": self.timezone,
            "key_events": a.key_events,
            "passive_events": self.passive_events(),
            "session_timeout_minutes": a.session_timeout_minutes,
            "bounce_min_events": a.bounce_min_events,
            "bounce_min_seconds": a.bounce_min_seconds,
            "activity_source": a.source,
            "lookback_days": self.incremental.lookback_days,
            "engagement_window_days": e.window_days,
            "tier_high_min": e.tier_high_min,
            "tier_mid_min": e.tier_mid_min,
            "trend_window_days": e.trend_window_days,
            "trend_min_history_days": e.trend_min_history_days,
            "anomaly_z": e.anomaly_z,
            "anomaly_min_change": e.anomaly_min_change,
            "engagement_weights": dict(sorted(e.weights.items())),
            "experiment_engagement_days": self.experiments.engagement_days,
            **{f"lifecycle_{k}": v for k, v in self.lifecycle.model_dump().items()},
            **{f"stage_{k}": v for k, v in self.product_stage.model_dump().items()},
            **{f"channel_{k}": v for k, v in self.channels.model_dump().items()},
            **{f"funnel_{k}": v for k, v in self.funnel.model_dump().items()},
            **{f"value_{k}": v for k, v in self.value.model_dump().items()},
            **{f"rfm_{k}": v for k, v in self.rfm.model_dump().items()},
            "churn_horizon_days": self.churn.horizon_days,
            "churn_snapshot_every_days": self.churn.snapshot_every_days,
            "churn_holdout_days": self.churn.evaluation_holdout_days,
            "churn_backtest_folds": self.churn.backtest_folds,
            "churn_backtest_step_days": self.churn.step_days,
            **{f"special_{k}": v for k, v in self.special_users.model_dump().items()},
            **{f"warning_{k}": v for k, v in self.warnings.model_dump().items()},
            "page_view_event": a.page_view_event,
            **{f"loop_{k}": v for k, v in self.loop.model_dump().items()},
        }


def _format_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any] | None, source: str = "<dict>") -> UseropsConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration in {source}: expected a mapping at the top level")
    try:
        return UseropsConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, source)) from None


def load_config(path: Path | str | None = None) -> UseropsConfig:
    """Load and validate the config; a missing default file means all defaults."""
    p = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    if not p.exists():
        if path is None:
            return parse_config({}, "defaults")
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    return parse_config(data, str(p))
