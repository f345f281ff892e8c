"""The generator's events landed as a GA4 export and as an Amplitude export give the
marts of the native landing, row by row (sample_data/exports.py writes them)."""

import datetime as dt
import json
import shutil

import duckdb
import pandas as pd
import pytest

from sample_data.exports import EXPORT_FORMATS, write_events_as
from tests.conftest import SMALL, make_settings, read_table, run
from tests.marts import assert_same_marts, marts

pytestmark = pytest.mark.e2e  # whole runs


@pytest.fixture(scope="module")
def exported(tmp_path_factory, small_data, small_landing):
    out = {}
    for fmt in EXPORT_FORMATS:
        root = tmp_path_factory.mktemp(f"export_{fmt}")
        landing = root / "landing"
        shutil.copytree(small_landing, landing)
        write_events_as(small_data.events, landing / "events", fmt)
        (landing / "events" / "_SUCCESS").touch()  # the export's files are whole
        settings = make_settings(root, landing, landing={"format": {"events": fmt}})
        run(settings, SMALL.start, SMALL.start + dt.timedelta(days=SMALL.days - 1))
        out[fmt] = settings
    return out


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_an_export_gives_the_marts_of_the_native_landing(fmt, exported, small_run):
    # the exports carry a device id on every event, the native landing none: only the
    # table of anonymous ids differs (each device id belongs to its one user)
    assert_same_marts(small_run.serving, exported[fmt].serving, f"{fmt} vs native",
                      skip=frozenset({"dim_identities"}))
    published = marts(exported[fmt].serving)
    ids = published["dim_identities"]
    assert len(ids) == small_data_users(small_run) and (ids["linked_users"] == 1).all()
    assert (ids["anonymous_id"] == "d-" + ids["user_id"]).all()
    for table in ("fct_active_users_daily", "fct_retention_cohorts", "dim_users"):
        assert len(published[table]) > 0, table
    assert not any(f.suffix == ".parquet" for f in (exported[fmt].landing / "events").iterdir())
    # every event landed: as many as natively, none quarantined
    assert _landed(exported[fmt]) == _landed(small_run)


def _landed(settings) -> tuple[int, int]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("select (select count(*) from raw.events), (select count(*) from "
                           "raw.quarantine where entity = 'events')").fetchone()
    finally:
        con.close()


def small_data_users(settings) -> int:
    """Users with events in a run's warehouse."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute("select count(distinct user_id) from raw.events").fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def orders_as_events(tmp_path_factory, small_data, small_landing):
    """The generator's orders recorded as purchase events too, with the orders file cut to
    its first 100 orders: those 100 are both in the file and events."""
    root = tmp_path_factory.mktemp("orders_as_events")
    landing = root / "landing"
    shutil.copytree(small_landing, landing)
    orders = small_data.orders
    for f in (landing / "orders").iterdir():
        f.unlink()
    orders.head(100).to_csv(landing / "orders" / "orders.csv", index=False)
    purchases = pd.DataFrame({
        "event_id": "buy-" + orders["order_id"], "user_id": orders["user_id"],
        "event_name": "purchase", "event_time": orders["order_time"],
        "properties": [json.dumps({"order_id": o, "value": a, "currency": c.lower(),
                                   "status": s}) for o, a, c, s in orders[
            ["order_id", "amount", "currency", "status"]].itertuples(index=False)]})
    purchases.to_csv(landing / "events" / "purchases.csv", index=False)
    settings = make_settings(root, landing, orders={"from_events": {
        "event": "purchase", "order_id": "order_id", "amount": "value",
        "currency": "currency", "status": "status"}})
    run(settings, SMALL.start, SMALL.start + dt.timedelta(days=SMALL.days - 1))
    return settings


def test_orders_recorded_as_events_give_the_value_of_the_orders_file(orders_as_events,
                                                                      small_run):
    """Purchases as events (some also in the orders file, counted once) give the same
    purchase summaries and revenue as the orders file alone. The purchase events are
    events too (visits, activity), so only the tables of orders are compared."""
    revenue = ["activity_date", "gmv_gross", "refunds", "gmv_net", "paid_orders",
               "refunded_orders", "paying_users"]
    for table, columns in (("marts.dim_user_purchase_summary", None),
                           ("marts.fct_revenue_daily", revenue)):
        key = "user_id" if columns is None else "activity_date"
        a = read_table(small_run.warehouse, table, key)
        b = read_table(orders_as_events.warehouse, table, key)
        columns = columns or list(a.columns)
        pd.testing.assert_frame_equal(a[columns], b[columns], obj=table)
    got = read_table(orders_as_events.warehouse, "staging.stg_app__orders", "order_id")
    assert len(got) == len(small_run_orders(small_run)) and got["order_id"].is_unique


def small_run_orders(settings) -> pd.DataFrame:
    return read_table(settings.warehouse, "staging.stg_app__orders", "order_id")
