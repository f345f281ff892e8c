"""The serving layer: Parquet + a serving DuckDB file swapped in atomically, readers that
never block or fail during a run, and personal attributes hashed or dropped."""

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.serving import SERVING_FILE, Privacy, PublishError, protect_attributes, publish
from orchestration.warehouse.duck import DuckDBWarehouse
from tests.conftest import SMALL, make_settings, run

pytestmark = pytest.mark.e2e  # runs whole Dagster jobs

READER = r"""
import json, sys, time, duckdb
path, out, stop, mode = sys.argv[1:5]
tables = ["fct_active_users_daily", "dim_users", "fct_revenue_daily", "user_rfm"]
con = duckdb.connect(path, read_only=True) if mode == "hold" else None
with open(out, "w") as f:
    while True:
        try:
            c = con or duckdb.connect(path, read_only=True)
            stamp = c.execute("select stamp from publish_info").fetchone()[0]
            rows = {t: c.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}
            if con is None:
                c.close()
            f.write(json.dumps({"stamp": stamp, "rows": rows}) + "\n")
        except Exception as exc:  # every failure is recorded; the test asserts there are none
            f.write(json.dumps({"error": repr(exc)}) + "\n")
        f.flush()
        try:
            open(stop).close()
            break
        except FileNotFoundError:
            time.sleep(0.05)
"""


def _warehouse(tmp_path: Path, n: int) -> duckdb.DuckDBPyConnection:
    """A warehouse with two marts tables; the returned connection shares the database with
    the Warehouse of the same file (same settings), WH(tmp_path)."""
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))  # as the warehouse connects
    con.execute("create schema if not exists marts")
    con.execute(f"create or replace table marts.t1 as select range as x from range({n})")
    con.execute("""create or replace table marts.dim_users as select * from (values
        ('u1', '{"email": "a@example.com", "plan": "pro"}'), ('u2', null),
        ('u3', '{"plan": "free"}')) as v(user_id, attributes)""")
    return con


def WH(tmp_path: Path) -> DuckDBWarehouse:  # noqa: N802 - reads as the warehouse itself
    return DuckDBWarehouse(str(tmp_path / "wh.duckdb"), "1GB")


def test_a_marts_view_over_marts_tables_is_published_as_a_view(tmp_path):
    """The daily series over a table stored by change is rebuilt in the serving file over
    the published source; a view that reads outside marts is written out as Parquet."""
    con = _warehouse(tmp_path, 5)
    con.execute("create or replace view marts.doubled as select x, 2 * x as y from marts.t1")
    con.execute("create or replace view marts.on_doubled as select sum(y) as s from marts.doubled")
    con.execute("create schema if not exists intermediate")
    con.execute("create or replace table intermediate.hidden as select 7 as z")
    con.execute("create or replace view marts.leaky as select z from intermediate.hidden")
    done = publish(WH(tmp_path), tmp_path / "serving", "20250101T000000Z-a")
    written = sorted(p.stem for p in done.run_dir.glob("*.parquet"))
    assert written == ["dim_users", "leaky", "t1"]  # no expansion of the marts-only views
    assert done.rows["doubled"] == 5 and done.rows["on_doubled"] == 1 and done.rows["leaky"] == 1
    con.close()
    (tmp_path / "wh.duckdb").unlink()  # the serving file never reads the warehouse
    serving = duckdb.connect(str(done.serving_file), read_only=True)
    assert serving.execute("select sum(y) from marts.doubled").fetchone()[0] == 20
    assert serving.execute("select s from marts.on_doubled").fetchone()[0] == 20
    assert serving.execute("select z from marts.leaky").fetchone()[0] == 7
    serving.close()


def test_publish_writes_parquet_and_views_and_keeps_old_runs(tmp_path):
    con = _warehouse(tmp_path, 5)
    first = publish(WH(tmp_path), tmp_path / "serving", "20250101T000000Z-a", keep=2)
    reader = duckdb.connect(str(first.serving_file), read_only=True)  # held across publishes
    con.execute("insert into marts.t1 select 99")
    publish(WH(tmp_path), tmp_path / "serving", "20250102T000000Z-b", keep=2)
    # the held reader still sees its run, whole
    assert reader.execute("select count(*) from marts.t1").fetchone()[0] == 5
    third = publish(WH(tmp_path), tmp_path / "serving", "20250103T000000Z-c", keep=2)
    # the serving file holds its tables: a reader held across `keep` publishes, whose run
    # folder was pruned, still reads its run
    assert not first.run_dir.exists()
    assert reader.execute("select count(*) from marts.t1").fetchone()[0] == 5
    # (within one process DuckDB shares an open database between connections to a path,
    # so a new connection here would see the held one's file; BI tools are other processes)
    reader.close()
    fresh = duckdb.connect(str(third.serving_file), read_only=True)
    assert fresh.execute("select stamp from publish_info").fetchone()[0] == "20250103T000000Z-c"
    assert fresh.execute("select count(*) from marts.t1").fetchone()[0] == 6
    assert json.loads((third.run_dir / "manifest.json").read_text())["rows"]["t1"] == 6
    runs = sorted(p.name for p in (tmp_path / "serving" / "runs").iterdir())
    assert runs == ["20250102T000000Z-b", "20250103T000000Z-c"]  # keep = 2
    assert not list((tmp_path / "serving").glob(f".*{SERVING_FILE}"))  # no temp file left
    with pytest.raises(PublishError, match="exists already"):
        publish(WH(tmp_path), tmp_path / "serving", "20250103T000000Z-c")


def test_personal_attributes_hashed_or_dropped(tmp_path):
    _warehouse(tmp_path, 1).close()
    with pytest.raises(PublishError, match="USEROPS_PII_SALT"):
        publish(WH(tmp_path), tmp_path / "s0", "x", Privacy(("email",), "hash", None))
    hashed = publish(WH(tmp_path), tmp_path / "s1", "x", Privacy(("email",), "hash", "pepper"))
    users = pd.read_parquet(hashed.run_dir / "dim_users.parquet").set_index("user_id")
    u1 = json.loads(users.loc["u1", "attributes"])
    assert u1["plan"] == "pro" and "example.com" not in u1["email"] and len(u1["email"]) == 64
    assert pd.isna(users.loc["u2", "attributes"])
    dropped = publish(WH(tmp_path), tmp_path / "s2", "x", Privacy(("email",), "drop"))
    text = (dropped.run_dir / "dim_users.parquet").read_bytes()
    assert b"a@example.com" not in text and b"a@example.com" not in hashed.run_dir.joinpath(
        "dim_users.parquet").read_bytes()
    users = pd.read_parquet(dropped.run_dir / "dim_users.parquet").set_index("user_id")
    assert json.loads(users.loc["u1", "attributes"]) == {"plan": "pro"}
    # the same salt gives the same digest: hashed values still join across runs
    again = protect_attributes(pd.Series(['{"email": "a@example.com"}']),
                               Privacy(("email",), "hash", "pepper"))
    assert json.loads(again[0])["email"] == u1["email"]


@pytest.fixture(scope="module")
def readers_through_a_run(tmp_path_factory, small_landing):
    root = tmp_path_factory.mktemp("serving_e2e")
    settings = make_settings(root, small_landing)
    mid = SMALL.start + dt.timedelta(days=19)
    run(settings, SMALL.start, mid)
    serving = settings.serving / SERVING_FILE
    assert serving.exists()
    stop = root / "stop"
    procs = []
    for mode in ("hold", "reopen"):
        out = root / f"{mode}.jsonl"
        procs.append((mode, out, subprocess.Popen(
            [sys.executable, "-c", READER, str(serving), str(out), str(stop), mode])))
    time.sleep(1.0)
    run(settings, mid + dt.timedelta(days=1), SMALL.start + dt.timedelta(days=SMALL.days - 1))
    time.sleep(1.0)
    stop.touch()
    observed = {}
    for mode, out, proc in procs:
        assert proc.wait(timeout=60) == 0
        observed[mode] = [json.loads(line) for line in out.read_text().splitlines()]
    return settings, observed


def test_readers_never_fail_and_never_see_a_mix(readers_through_a_run):
    settings, observed = readers_through_a_run
    manifests = {p.name: json.loads((p / "manifest.json").read_text())["rows"]
                 for p in (settings.serving / "runs").iterdir() if p.is_dir()}
    for mode, rows in observed.items():
        assert len(rows) > 20, mode
        errors = [r["error"] for r in rows if "error" in r]
        assert errors == [], (mode, errors[:3])
        for r in rows:  # every table of one observation comes from the same publish
            expected = manifests[r["stamp"]]
            assert r["rows"] == {t: expected[t] for t in r["rows"]}
    assert len({r["stamp"] for r in observed["hold"]}) == 1  # an open reader keeps its run
    assert len({r["stamp"] for r in observed["reopen"]}) == 2  # a new reader gets the new one


def test_a_copy_of_the_serving_folder_elsewhere_answers_through_sqlalchemy(tmp_path, small_run):
    """As Superset or Metabase would meet it: the folder mounted at another path (the
    original gone), read through SQLAlchemy with duckdb-engine; a reader holding the copy
    open never blocks a later publish into the original."""
    import sqlalchemy as sa

    wh = DuckDBWarehouse(str(small_run.warehouse), "1GB")
    original = tmp_path / "serving"
    first = publish(wh, original, "20250101T000000Z-a")
    mounted = tmp_path / "bi" / "mnt" / "serving"
    shutil.copytree(original, mounted)
    shutil.rmtree(original)

    engine = sa.create_engine(f"duckdb:///{mounted / SERVING_FILE}",
                              connect_args={"read_only": True})
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert "serving.marts" in inspector.get_schema_names()  # database.schema
        names = inspector.get_table_names(schema="marts") + inspector.get_view_names(
            schema="marts")
        assert set(names) == set(first.rows)
        for name in names:
            n = conn.execute(sa.text(f"select count(*) from marts.{name}")).scalar_one()
            assert n == first.rows[name], name
        assert conn.execute(sa.text("select run_dir from publish_info")).scalar_one() == \
            "runs/20250101T000000Z-a"
        # held open while the original is published again
        second = publish(wh, original, "20250102T000000Z-b")
        assert (original / SERVING_FILE).exists() and second.rows == first.rows
        assert conn.execute(sa.text("select count(*) from marts.dim_users")).scalar_one() \
            == first.rows["dim_users"]
    engine.dispose()
