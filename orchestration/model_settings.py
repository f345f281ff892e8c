"""The settings of each Python model, built in one place from the config.

The models' settings dataclasses (models/) have no defaults of their own: every value
comes from userops.yaml through orchestration/config.py, so a test exercises the numbers
production uses (tests/test_config_drift.py checks both).
"""

from __future__ import annotations

from models import alerts as rules
from models import challengers, churn
from models.funnel_alert import FunnelDropSettings, lag_days
from models.loop import LoopSettings
from orchestration.config import UseropsConfig


def alert_thresholds(config: UseropsConfig) -> rules.AlertThresholds:
    return rules.AlertThresholds(
        noise_z=config.alerts.noise_z,
        quick_ratio_min=config.alerts.quick_ratio_min,
        net_growth_negative_periods=config.alerts.net_growth_negative_periods,
        high_risk_share_jump=config.alerts.high_risk_share_jump,
        bounced_only_z=config.alerts.bounced_only_z,
        bounced_only_min_rise=config.alerts.bounced_only_min_rise,
        campaign_share_max=config.alerts.campaign_share_max,
        stable_max_cv=config.channels.stable_max_cv,
        stability_window_days=config.channels.stability_window_days,
        trend_window_days=config.engagement.trend_window_days,
        trend_min_history_days=config.engagement.trend_min_history_days,
        channel_compare_days=config.alerts.channel_compare_days,
        channel_dispersion_p=config.alerts.channel_dispersion_p,
    )


def funnel_drop_settings(config: UseropsConfig) -> FunnelDropSettings:
    a = config.alerts
    return FunnelDropSettings(
        recent_days=a.funnel_recent_days, baseline_days=a.funnel_baseline_days,
        min_users=a.funnel_min_users, p_value=a.funnel_drop_p,
        min_relative_drop=a.funnel_min_relative_drop)


def funnel_lags(config: UseropsConfig) -> dict[str, int]:
    """Each funnel's days until its entrants' windows have closed (models/funnel_alert)."""
    return {name: lag_days(f.within_hours) for name, f in config.funnels.items()}


def churn_settings(config: UseropsConfig) -> churn.ChurnSettings:
    c = config.churn
    return churn.ChurnSettings(
        horizon_days=c.horizon_days, min_training_rows=c.min_training_rows,
        churn_days=config.lifecycle.churn_days, medium_risk_min=c.medium_risk_min,
        high_risk_min=c.high_risk_min, holdout_days=c.evaluation_holdout_days,
        max_training_rows=c.max_training_rows)


def backtest_settings(config: UseropsConfig) -> challengers.BacktestSettings:
    c = config.churn
    return challengers.BacktestSettings(
        horizon_days=c.horizon_days, churn_days=config.lifecycle.churn_days,
        min_training_rows=c.min_training_rows, max_training_rows=c.backtest_max_training_rows,
        candidates=tuple(c.candidates), champion_metric=c.champion_metric,
        max_calibration_error=c.max_calibration_error,
        btyd_max_customers=c.btyd_max_customers)


def loop_settings(config: UseropsConfig) -> LoopSettings:
    c = config.loop
    return LoopSettings(holdout_share=c.holdout_share,
                        assignment_period_days=c.assignment_period_days,
                        outcome_days=tuple(c.outcome_days), min_users=c.min_users,
                        min_effect=c.min_effect)
