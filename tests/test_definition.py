"""Definitions that never drift silently: a run whose history-shaping settings differ
from the ones the stored days were built with refuses, naming the keys, unless it
rebuilds every day or keeps the history on purpose; the change is recorded."""

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from orchestration import definition
from orchestration.config import parse_config
from orchestration.runner import RunError, run_pipeline
from tests.conftest import SMALL, make_settings, read_table, run

ROOT = Path(__file__).resolve().parent.parent
# how far a run looks back, not what a day means; funnel rows carry their definition's
# signature; the segment tables are rebuilt whole each run
NOT_DEFINITIONS = {"lookback_days", "funnels", "segments", "segment_weeks"}


def _vars_of(paths) -> set[str]:
    found = set()
    for path in paths:
        found |= set(re.findall(r"var\('([a-z_]+)'", path.read_text()))
    return found


def test_every_setting_the_incremental_models_read_is_guarded():
    models = [p for p in (ROOT / "dbt_project" / "models").rglob("*.sql")
              if "materialized='incremental'" in p.read_text()]
    assert len(models) >= 10
    macros = list((ROOT / "dbt_project" / "macros").glob("*.sql"))
    staged = [ROOT / "dbt_project" / "models" / "staging" / "stg_app__orders.sql"]  # -> user-days
    used = (_vars_of(models) | _vars_of(staged)
            | {v for v in _vars_of(macros) if not v.startswith("loop_")})
    assert used - NOT_DEFINITIONS <= set(definition.HISTORY), \
        sorted(used - NOT_DEFINITIONS - set(definition.HISTORY))


def test_the_definition_reads_each_key_from_the_config():
    config = parse_config({"activity": {"session_timeout_minutes": 45},
                           "timezone": "Asia/Shanghai"})
    d = definition.definition(config)
    assert d["activity.session_timeout_minutes"] == 45 and d["timezone"] == "Asia/Shanghai"
    assert set(d) == set(definition.HISTORY.values())
    assert definition.changes(d, {**d, "lifecycle.churn_days": 45}) == [
        ("lifecycle.churn_days", 30, 45)]


@pytest.mark.e2e
def test_a_changed_definition_refuses_then_is_kept_or_rebuilt_and_recorded(tmp_path,
                                                                          small_landing):
    first, last = SMALL.start, SMALL.start + dt.timedelta(days=4)
    run(make_settings(tmp_path, small_landing), first, last, models_only=True)
    changed = make_settings(tmp_path, small_landing,
                            activity={"session_timeout_minutes": 45})
    with pytest.raises(RunError, match=r"activity.session_timeout_minutes 30 -> 45; run "
                       r"with --full-refresh .* or --accept-definition-change"):
        run(changed, last, last, models_only=True)
    run_pipeline(changed, last, last, log_level="WARNING", models_only=True,
                 accept_definition_change=True)
    run(changed, last, last, models_only=True)  # the same settings again: no refusal
    rows = read_table(changed.warehouse, "marts.fct_definition_changes", "changed_on")
    assert rows[["setting", "old_value", "new_value", "how"]].values.tolist() == [
        ["activity.session_timeout_minutes", "30", "45", "history kept"]]
    assert rows["changed_on"].tolist() == [pd.Timestamp(last)]
    back = make_settings(tmp_path, small_landing)
    run(back, first, last, full_refresh=True, models_only=True)
    rows = read_table(back.warehouse, "marts.fct_definition_changes", "changed_on, how")
    assert rows["how"].tolist() == ["full refresh", "history kept"]
