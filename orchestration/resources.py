"""Dagster resources: the warehouse (DuckDB or Spark), the one way Python reads and writes
its tables. Assets take it as `warehouse: ResourceParam[Warehouse]` (a plain object as a
Dagster resource)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from dagster import InitResourceContext, ResourceDefinition, resource

from orchestration.settings import Settings
from orchestration.warehouse import Warehouse

# Every asset that writes the warehouse runs in this pool. DuckDB allows one writing
# process, so the pool's limit is 1 (dagster.yaml, see runner.py); on Spark the pool also
# keeps one run at a time on the warehouse's metastore and landing state.
WAREHOUSE_POOL = "duckdb_warehouse"


def build_warehouse(path: str, memory_limit: str, engine: str = "duckdb",
                    spark_conf: Mapping[str, str] | None = None) -> Warehouse:
    """`path`: the DuckDB file of the pipeline's state (on DuckDB, the warehouse itself);
    `memory_limit`: DuckDB's; `spark_conf`: the SparkSession's settings."""
    if engine == "spark":
        from orchestration.warehouse.spark import SparkWarehouse

        return SparkWarehouse(path, memory_limit, dict(spark_conf or {}))
    from orchestration.warehouse.duck import DuckDBWarehouse

    return DuckDBWarehouse(path, memory_limit)


def warehouse_for(settings: Settings) -> Warehouse:
    """The warehouse the configuration names."""
    wh = settings.config.warehouse
    return build_warehouse(str(settings.warehouse), wh.memory_limit, wh.engine,
                           settings.warehouse_conf())


def held_warehouse(warehouse: Warehouse) -> ResourceDefinition:
    """`warehouse` as a Dagster resource that holds its DuckDB file open while the run's
    steps use it (StateStore.held, which says why). The in-process executor sets the
    resource up once per run; a multiprocess one, once per step process."""

    @resource(description="The warehouse (DuckDB or Spark), its DuckDB file held open")
    def _warehouse(_context: InitResourceContext) -> Iterator[Warehouse]:
        with warehouse.store.held():
            yield warehouse

    return _warehouse


def python_kinds(settings: Settings) -> set[str]:
    """The kinds of an asset computed in Python and stored in the engine's warehouse."""
    return {"python", settings.config.warehouse.engine}
