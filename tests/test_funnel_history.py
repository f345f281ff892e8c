"""int_funnel_progress is built by the day; a funnel added or redefined between runs is
built over all of history at once, never from the day it appeared (docs/METRICS.md,
"Funnels", built by the day)."""

import pytest

from sample_data.generator import GeneratorParams
from tests.conftest import SMALL_FUNNEL, generated_landing, make_settings, read_table, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

TABLES = {
    "intermediate.int_funnel_progress": "funnel, grain, period_start, user_id, step_number",
    "marts.fct_funnel_daily": "funnel, activity_date, breakdown, breakdown_value, step_number",
}


def test_a_funnel_added_or_changed_later_is_built_over_all_of_history(tmp_path):
    landing, days = generated_landing(tmp_path, GeneratorParams(users=150, days=12, seed=3))
    before = {"discovery": SMALL_FUNNEL}
    after = {"discovery": {**SMALL_FUNNEL, "within_hours": 1},  # redefined
             "carts": {"steps": ["view_item", "add_to_cart"], "within_hours": 24}}  # added
    daily = make_settings(tmp_path / "daily", landing, funnels=before)
    run(daily, days[0], days[-2], models_only=True)
    changed = make_settings(tmp_path / "daily", landing, funnels=after)
    run(changed, days[-1], days[-1], models_only=True)

    fresh = make_settings(tmp_path / "fresh", landing, funnels=after)
    run(fresh, days[0], days[-1], models_only=True)
    for table, order in TABLES.items():
        got = read_table(changed.warehouse, table, order)
        want = read_table(fresh.warehouse, table, order)
        assert set(got["funnel"]) == {"discovery", "carts"}
        # the added funnel has its first days too, not only the day it appeared
        carts = got[got["funnel"] == "carts"]
        if "grain" in carts:
            carts = carts[carts["grain"] == "day"].rename(columns={"period_start": "activity_date"})
        first = carts["activity_date"].min()
        assert str(first)[:10] == str(days[0])
        assert got.equals(want), table
