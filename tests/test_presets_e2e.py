"""The generator's events landed as a GA4 export and as an Amplitude export give the
marts of the native landing, row by row (sample_data/exports.py writes them)."""

import datetime as dt
import shutil

import duckdb
import pytest

from sample_data.exports import EXPORT_FORMATS, write_events_as
from tests.conftest import SMALL, make_settings, run
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
