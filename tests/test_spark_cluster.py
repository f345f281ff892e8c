"""The pipeline on a real Spark cluster: a standalone master and two workers, each its own
JVM on this machine (tests/spark_cluster.py), the pipeline's session their driver
(`master: spark://...`), the SQL running in executors in the workers' processes. Every
published mart equals DuckDB's row by row; a worker killed in the middle of a run loses
nothing (Spark reschedules its tasks on the other) and the rerun still equals DuckDB.

Marked `spark` (the `spark` extra, Java): `uv run --locked --extra spark pytest -m spark`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from orchestration.dbt.project import dbt_runs_dir
from tests.conftest import run
from tests.marts import assert_same_marts, marts
from tests.spark_cluster import (
    NOT_EMPTY,
    Cluster,
    backfilled_on_both,
    kill_worker,
    standalone_cluster,
    stop_spark_session,
)

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    stop_spark_session()
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster")) as running:
        try:
            yield running
        finally:
            stop_spark_session()


@pytest.fixture(scope="module")
def engines(cluster, tmp_path_factory):
    return backfilled_on_both(tmp_path_factory.mktemp("engines"), {
        "engine": "spark", "spark": {"master": cluster.url, "driver_memory": "1g",
                                     "conf": cluster.session_conf()}})


def test_every_mart_on_the_cluster_equals_duckdbs(cluster, engines):
    duck, spark, _ = engines
    assert_same_marts(duck.serving, spark.serving, "a backfill on a standalone cluster")
    published = marts(spark.serving)
    assert [t for t in NOT_EMPTY if published[t].empty] == []
    # and the work ran on the cluster: the session's master is it, and the master lists
    # the pipeline's application with executors on both workers
    from pyspark.sql import SparkSession

    assert SparkSession.getActiveSession().sparkContext.master == cluster.url
    apps = [a for a in cluster.status()["activeapps"] if a["name"] == "userops"]
    assert len(apps) == 1 and apps[0]["cores"] == 2, cluster.status()["activeapps"]
    executors = sorted((cluster.folder / "worker-0").glob("app-*/*/stderr")) + \
        sorted((cluster.folder / "worker-1").glob("app-*/*/stderr"))
    assert len(executors) == 2, executors


def _kill_once_dbt_runs(spark, worker, after_seconds: float) -> threading.Thread:
    """A thread that kills `worker` `after_seconds` into the next dbt invocation (its
    target folder appearing), i.e. while executors run the models' SQL."""
    runs = dbt_runs_dir(spark)
    before = set(runs.glob("*/*")) if runs.exists() else set()

    def watch() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if runs.exists() and set(runs.glob("*/*")) - before:
                time.sleep(after_seconds)
                kill_worker(worker)
                return
            time.sleep(0.5)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_worker_lost_mid_run_loses_nothing(cluster, engines):
    duck, spark, days = engines
    killer = _kill_once_dbt_runs(spark, cluster.workers[1], after_seconds=10)
    run(spark, days[-2], days[-1])  # a daily run over two days, one worker gone half-way
    killer.join(timeout=1)
    assert cluster.workers[1].poll() is not None, "the worker was not killed during the run"
    assert cluster.alive_workers() == 1
    assert_same_marts(duck.serving, spark.serving, "after a rerun that lost a worker")
