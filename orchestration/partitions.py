"""Daily partitions in the reporting time zone."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition

from orchestration.config import UseropsConfig


def daily_partitions(config: UseropsConfig) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(
        start_date=config.start_date.isoformat(), timezone=config.timezone
    )
