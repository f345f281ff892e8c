"""The pipeline on a real Spark cluster: a standalone master and two workers, each its own
JVM on this machine (tests/spark_cluster.py), the pipeline's session their driver
(`master: spark://...`), the SQL running in executors in the workers' processes. Every
published mart equals DuckDB's row by row; a worker killed in the middle of a run loses
nothing (Spark reschedules its tasks on the other) and the rerun still equals DuckDB; a
second run started meanwhile on the same warehouse refuses in one line.

Marked `spark` (the `spark` extra, Java): `uv run --locked --extra spark pytest -m spark`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

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


def _once_dbt_runs(spark, after_seconds: float, action: Callable[[], None]) -> threading.Thread:
    """A thread that calls `action` `after_seconds` into the next dbt invocation (its
    target folder appearing), i.e. while executors run the models' SQL."""
    runs = dbt_runs_dir(spark)
    before = set(runs.glob("*/*")) if runs.exists() else set()

    def watch() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if runs.exists() and set(runs.glob("*/*")) - before:
                time.sleep(after_seconds)
                action()
                return
            time.sleep(0.5)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_worker_lost_mid_run_loses_nothing_and_a_second_run_is_refused(cluster, engines):
    duck, spark, days = engines
    second: list[subprocess.CompletedProcess] = []

    def lose_a_worker_and_start_a_second_run() -> None:
        kill_worker(cluster.workers[1])
        config = spark.warehouse.parent / "userops.yaml"  # tests.conftest.write_config's
        second.append(subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "run", "--config", str(config), "-q"],
            capture_output=True, text=True, timeout=300))

    watcher = _once_dbt_runs(spark, 10, lose_a_worker_and_start_a_second_run)
    run(spark, days[-2], days[-1])  # a daily run over two days, one worker gone half-way
    watcher.join(timeout=300)
    assert cluster.workers[1].poll() is not None, "the worker was not killed during the run"
    assert cluster.alive_workers() == 1
    # the second run, started while the first was building, refused in one line
    assert len(second) == 1, "the second run did not start during the first"
    refused = second[0]
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("userops: error: another run is using the warehouse "
                                     f"{spark.warehouse} (pid {os.getpid()} "), refused.stderr
    assert_same_marts(duck.serving, spark.serving, "after a rerun that lost a worker")
