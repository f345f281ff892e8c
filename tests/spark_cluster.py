"""A Spark standalone cluster on this machine, as a test starts one: a master and workers,
each its own JVM started from the pyspark wheel's `spark-class`, on 127.0.0.1 only, with
bounded memory, stopped with their executors at the end (or when the test process dies).
Every process reads the same local folders, as a cluster's nodes read a shared mount."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.settings import Settings
from sample_data.generator import GeneratorParams
from tests.conftest import generated_landing, make_settings, run
from tests.servers import free_port, serving, stop_group, wait_for

# what one worker offers: one core each, so two workers share this 2-core machine
WORKER_CORES = 1
WORKER_MEMORY = "1536m"
EXECUTOR_MEMORY = "1g"


def spark_home() -> Path:
    """The Spark distribution the pyspark wheel carries (bin/, jars/, sbin/)."""
    import pyspark

    return Path(pyspark.__file__).parent


def spark_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(folder / "logs"), "SPARK_LOCAL_DIRS": str(folder / "local"),
            "SPARK_DAEMON_MEMORY": "512m", "PYSPARK_PYTHON": sys.executable}


@dataclass
class Cluster:
    url: str  # spark://127.0.0.1:PORT, the `master` of a session on it
    status_url: str  # the master's JSON status page
    folder: Path
    workers: list[subprocess.Popen] = field(default_factory=list)

    def status(self) -> dict:
        with urllib.request.urlopen(self.status_url, timeout=10) as response:
            return json.load(response)

    def alive_workers(self) -> int:
        try:
            return int(self.status()["aliveworkers"])
        except OSError:
            return 0

    def session_conf(self) -> dict[str, str]:
        """The pipeline's `warehouse.spark.conf` for a session whose executors run here."""
        return {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                "spark.executor.memory": EXECUTOR_MEMORY,
                "spark.executor.cores": str(WORKER_CORES),
                "spark.pyspark.python": sys.executable}


def _spark_class(main: str, *args: str) -> list[str]:
    return [str(spark_home() / "bin" / "spark-class"), main, *args]


@contextlib.contextmanager
def standalone_cluster(folder: Path, workers: int = 2) -> Iterator[Cluster]:
    """A master and `workers` workers (WORKER_CORES and WORKER_MEMORY each), all registered."""
    folder.mkdir(parents=True, exist_ok=True)
    env = spark_env(folder)
    port, ui = free_port(), free_port()
    cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}/json/", folder)
    master_log = folder / "master.log"
    master = _spark_class("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                          "--port", str(port), "--webui-port", str(ui))
    with contextlib.ExitStack() as stack:
        stack.enter_context(serving(master, env, master_log))

        def master_up() -> bool:
            try:
                return cluster.status()["status"] == "ALIVE"
            except OSError:
                return False

        wait_for("the Spark master answers", 120, master_up, master_log)
        for i in range(workers):
            cmd = _spark_class("org.apache.spark.deploy.worker.Worker", cluster.url,
                               "--host", "127.0.0.1", "--cores", str(WORKER_CORES),
                               "--memory", WORKER_MEMORY, "--webui-port", str(free_port()),
                               "--work-dir", str(folder / f"worker-{i}"))
            cluster.workers.append(
                stack.enter_context(serving(cmd, env, folder / f"worker-{i}.log")))
        wait_for(f"{workers} Spark workers registered", 120,
                 lambda: cluster.alive_workers() == workers, master_log)
        yield cluster


def stop_spark_session() -> None:
    """One SparkSession per process: a session another module of this test worker left
    (local mode, or Spark Connect and its process-wide switch) must not serve the next
    module's runs, nor this module's the next one's."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


def kill_worker(worker: subprocess.Popen) -> None:
    """A worker lost as a machine is: SIGKILL to it and its executors at once."""
    stop_group(worker, grace=0)


@dataclass
class SqlServers:
    thrift_port: int  # dbt-spark's `method: thrift`
    connect_url: str  # sc://127.0.0.1:PORT, USEROPS_SPARK_REMOTE of the Python assets


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def thrift_and_connect(cluster: Cluster, folder: Path) -> Iterator[SqlServers]:
    """A Spark Thrift server on the cluster, with the Spark Connect server in the same
    driver (Spark's SparkConnectPlugin): dbt and the Python assets reach one Spark
    application, one catalog (its Derby metastore in `folder`), as on a cluster where both
    front the same metastore. The Spark SQL settings the results depend on are the
    pipeline's to set on its sessions (profiles.yml, SQL_CONF), not the server's."""
    folder.mkdir(parents=True, exist_ok=True)
    thrift, grpc = free_port(), free_port()
    settings = {
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(grpc),
        "spark.sql.warehouse.dir": str(folder / "tables"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
        "spark.ui.enabled": "false",
        **cluster.session_conf()}
    cmd = _spark_class(
        "org.apache.spark.deploy.SparkSubmit", "--master", cluster.url,
        "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--driver-memory", "1g", "--name", "userops-sql",
        *[a for k, v in settings.items() for a in ("--conf", f"{k}={v}")],
        "--hiveconf", f"hive.server2.thrift.port={thrift}",
        "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1", "spark-internal")
    log = folder / "thrift-server.log"
    with serving(cmd, spark_env(folder), log, cwd=folder):
        wait_for("the Thrift and Spark Connect servers listen", 180,
                 lambda: _accepts(thrift) and _accepts(grpc), log)
        yield SqlServers(thrift, f"sc://127.0.0.1:{grpc}")


# the landing both cluster tests compare engines on, and its configuration
PARAMS = GeneratorParams(users=200, days=45, seed=17, start=dt.date(2025, 3, 1))
CONFIG = {"churn": {"horizon_days": 14}, "incremental": {"lookback_days": 2}}
# marts that must have rows, so that "equal" is not "both empty"
NOT_EMPTY = ("fct_active_users_daily", "fct_retention_cohorts", "fct_user_lifecycle_spans",
             "user_rfm", "user_clv", "dim_users")


def backfilled_on_both(root: Path, warehouse: dict) -> tuple[Settings, Settings, list[dt.date]]:
    """PARAMS' landing backfilled over all its days on DuckDB and on the Spark `warehouse`
    (the `warehouse` section of the config): both settings, and the days."""
    landing, days = generated_landing(root, PARAMS)
    duck = make_settings(root / "duckdb", landing, **CONFIG)
    spark = make_settings(root / "spark", landing, **CONFIG, warehouse=warehouse)
    for settings in (duck, spark):
        run(settings, days[0], days[-1])
    return duck, spark, days
