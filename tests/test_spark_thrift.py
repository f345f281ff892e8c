"""The pipeline as a team runs it against a shared Spark cluster it does not drive itself:
dbt over a Spark Thrift server (`method: thrift`), the Python assets over Spark Connect
(`USEROPS_SPARK_REMOTE`), both servers fronting one application and catalog on a standalone
cluster of two workers (tests/spark_cluster.py). Every published mart equals DuckDB's row by
row, and a rerun of the last days changes nothing.

Marked `spark` (the `spark` extra, Java): `uv run --locked --extra spark pytest -m spark`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import run
from tests.marts import assert_same_marts, marts
from tests.spark_cluster import (
    NOT_EMPTY,
    SqlServers,
    backfilled_on_both,
    standalone_cluster,
    stop_spark_session,
    thrift_and_connect,
)

pytestmark = [pytest.mark.spark, pytest.mark.e2e]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[SqlServers]:
    stop_spark_session()
    folder = tmp_path_factory.mktemp("spark-sql")
    with (standalone_cluster(folder / "cluster") as cluster,
          thrift_and_connect(cluster, folder / "server") as running):
        try:
            yield running
        finally:
            stop_spark_session()


@pytest.fixture(scope="module")
def engines(servers, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        # the Python assets' session: the documented variable, read when a run starts
        env.setenv("USEROPS_SPARK_REMOTE", servers.connect_url)
        env.setenv("USEROPS_SPARK_USER", "userops")
        yield backfilled_on_both(tmp_path_factory.mktemp("engines"), {
            "engine": "spark", "spark": {"method": "thrift", "host": "127.0.0.1",
                                         "port": servers.thrift_port}})


def test_every_mart_over_thrift_and_connect_equals_duckdbs(engines):
    duck, spark, _ = engines
    assert_same_marts(duck.serving, spark.serving, "dbt over Thrift, Python over Connect")
    published = marts(spark.serving)
    assert [t for t in NOT_EMPTY if published[t].empty] == []
    # the Python side's session was the remote one, not a local session of this process
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    assert active is not None and type(active).__module__.startswith("pyspark.sql.connect")


def test_a_rerun_over_thrift_changes_nothing(engines):
    duck, spark, days = engines
    run(spark, days[-2], days[-1])
    assert_same_marts(duck.serving, spark.serving, "after a rerun over Thrift")
