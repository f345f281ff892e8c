"""The model store: fingerprints of training rows, and keeping and finding fitted models."""

import datetime as dt

import duckdb
import pytest

from orchestration import model_store
from orchestration.warehouse.duck import DuckDBWarehouse

COLUMNS = ["feature_date", "user_id", "score", "is_churned"]
LABELLED = "is_churned is not null"


@pytest.fixture()
def wh(tmp_path):
    return DuckDBWarehouse(str(tmp_path / "w.duckdb"), "1GB")


@pytest.fixture()
def con(wh):
    c = duckdb.connect(wh.path)  # as the warehouse connects: no connect-time config
    c.execute("create schema intermediate")
    c.execute("""create table intermediate.f as select * from (values
        (date '2025-01-02', 'a', 0.5, true), (date '2025-01-02', 'b', 1.25, false),
        (date '2025-01-09', 'a', 2.0, null)) as t(feature_date, user_id, score, is_churned)""")
    yield c
    c.close()


def _key(wh, settings=None):
    return model_store.rows_fingerprint(wh, "intermediate.f", COLUMNS, LABELLED,
                                        settings or {"horizon": 30})


def test_fingerprint_follows_the_labelled_rows_and_the_settings(con, wh):
    before = _key(wh)
    assert _key(wh) == before
    con.execute("update intermediate.f set score = 9 where is_churned is null")
    assert _key(wh) == before  # a scoring row is not a training row
    con.execute("create table intermediate.g as select * from intermediate.f order by user_id desc")
    con.execute("drop table intermediate.f")
    con.execute("alter table intermediate.g rename to f")
    assert _key(wh) == before  # row order does not matter
    con.execute("update intermediate.f set score = score + 1e-12 where user_id = 'b'")
    assert _key(wh) == before  # nor the last bits of a double
    assert _key(wh, {"horizon": 14}) != before
    con.execute("update intermediate.f set is_churned = true where user_id = 'b'")
    assert _key(wh) != before
    con.execute("update intermediate.f set is_churned = false, score = 1.5 where user_id = 'b'")
    assert _key(wh) != before
    with pytest.raises(ValueError, match="no columns"):
        model_store.rows_fingerprint(wh, "intermediate.f", ["nope"], LABELLED, {})


def test_a_kept_model_is_found_by_its_fingerprint_only(wh):
    assert model_store.load(wh, "m", "k1") is None  # no store yet
    model_store.save(wh, "m", "k1", {"coef": [1.0, 2.0]}, dt.date(2025, 1, 9), "run-1")
    kept = model_store.load(wh, "m", "k1")
    assert kept.fitted == {"coef": [1.0, 2.0]} and kept.trained_snapshot == dt.date(2025, 1, 9)
    assert model_store.load(wh, "m", "k2") is None
    assert model_store.load(wh, "other", "k1") is None
    model_store.save(wh, "m", "k2", "second", dt.date(2025, 1, 16), "run-2")
    assert model_store.load(wh, "m", "k1") is None  # replaced: one model per name
    assert model_store.load(wh, "m", "k2").fitted == "second"
    assert wh.scalar(f"select count(*) from {model_store.TABLE}") == 1
