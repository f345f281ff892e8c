"""No silent holes: the daily tables hold every day from their first to their last.

A run over a window that starts after the day following the last built one (after
downtime, with an explicit --start) would leave days without rows and still succeed.
This check fails, blocking the publish, and names the missing days; a run that catches
up (the schedule's, or `userops run` without dates) builds them.
"""

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, ResourceParam, asset_check

from orchestration.catch_up import describe, missing_ranges
from orchestration.resources import WAREHOUSE_POOL
from orchestration.warehouse import Warehouse

DAILY_KEY = AssetKey(["marts", "fct_active_users_daily"])
HOLES_CHECK = "no_missing_days"


def missing_days(warehouse: Warehouse) -> list:
    """The runs of days fct_active_users_daily lacks between its first and last day (it
    has a row for every built day, an idle one included)."""
    days = warehouse.query("select distinct activity_date from marts.fct_active_users_daily "
                           "where breakdown = 'all'")["activity_date"]
    return missing_ranges(list(pd.to_datetime(days).dt.date))


@asset_check(asset=DAILY_KEY, name=HOLES_CHECK, blocking=True, pool=WAREHOUSE_POOL,
             description="the daily tables cover every day from the first built to the last "
             "(blocking: a window that leaves days out is held back, and names them)")
def no_missing_days(warehouse: ResourceParam[Warehouse]) -> AssetCheckResult:
    gaps = missing_days(warehouse)
    n = sum((b - a).days + 1 for a, b in gaps)
    meta = {"missing_days": n}
    if gaps:
        meta["message"] = (f"the daily tables have no rows for {describe(gaps)}: "
                           "`userops run` without --start/--end (or the schedule) builds them")
    return AssetCheckResult(passed=not gaps, severity=AssetCheckSeverity.ERROR, metadata=meta)
