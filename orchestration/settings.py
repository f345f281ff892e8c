"""Runtime settings: the validated config plus the paths of this run.

The CLI builds them from flags; `dagster dev` (workspace.yaml) builds them
from the environment: USEROPS_CONFIG, USEROPS_LANDING, USEROPS_WAREHOUSE.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from data_quality.contract import ENTITIES
from data_quality.landing import FileRules
from data_quality.landing.formats import EntityMapping, renames
from data_quality.landing.presets import preset
from orchestration.config import UseropsConfig, load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def beside_warehouse(warehouse: Path, name: str) -> Path:
    """Where a path the config leaves unset goes: in the warehouse's folder, named `name`
    for a file called warehouse.duckdb (data/serving, data/dagster_home), else prefixed
    with the file's name (a/shop.duckdb -> a/shop-serving), so two warehouses never share
    a serving file or a run history."""
    stem = warehouse.stem
    return warehouse.parent / (name if stem == "warehouse" else f"{stem}-{name}")


def landing_mappings(config: UseropsConfig) -> dict[str, EntityMapping]:
    """Per entity, how its landing files become the contract's columns (landing.format,
    landing.columns, landing.time_unit); entities without one are in the contract's shape."""
    out: dict[str, EntityMapping] = {}
    landing = config.landing
    for entity in {*landing.format, *landing.columns, *landing.time_unit}:
        fmt = landing.format.get(entity, "native")
        if fmt != "native":
            out[entity] = preset(fmt)
            continue
        times = tuple(c.name for c in ENTITIES[entity].columns
                      if c.kind == "timestamp")
        out[entity] = renames(landing.columns.get(entity, {}), landing.time_unit.get(entity),
                              times)
    return out


def file_rules(config: UseropsConfig) -> FileRules:
    """Which landing files a run reads now (landing.*, quality.unreadable_files)."""
    return FileRules(tuple(config.landing.in_flight_patterns), config.landing.settle_seconds,
                     config.quality.unreadable_files)


@dataclass(frozen=True)
class Settings:
    config: UseropsConfig
    landing: Path
    warehouse: Path
    dagster_home: Path
    serving: Path

    @classmethod
    def build(
        cls,
        config_path: Path | str | None = None,
        landing: Path | str | None = None,
        warehouse: Path | str | None = None,
        config: UseropsConfig | None = None,
    ) -> Settings:
        """`config`: the file at config_path, when the caller has loaded it already."""
        config = config or load_config(config_path)
        paths = config.paths
        warehouse_path = Path(warehouse or paths.warehouse).absolute()
        return cls(
            config=config,
            landing=Path(landing or paths.landing).absolute(),
            warehouse=warehouse_path,
            dagster_home=Path(paths.dagster_home or beside_warehouse(warehouse_path,
                                                                   "dagster_home")).absolute(),
            serving=Path(paths.serving or beside_warehouse(warehouse_path, "serving")).absolute(),
        )

    def warehouse_conf(self) -> dict[str, str]:
        """The SparkSession's settings when warehouse.engine is spark, else {}."""
        wh = self.config.warehouse
        if wh.engine != "spark":
            return {}
        from orchestration.warehouse.spark import session_conf

        remote = os.environ.get("USEROPS_SPARK_REMOTE")
        if wh.spark.method != "session" and not remote:
            # dbt reaches the cluster itself; the Python assets need a session on it too
            raise ValueError(
                f"warehouse.spark.method {wh.spark.method} needs USEROPS_SPARK_REMOTE, the "
                "Spark Connect URL of the same cluster (e.g. sc://host:15002), for the "
                "Python assets; or use method: session")
        return session_conf(self.warehouse, wh.spark.master, wh.spark.driver_memory,
                            wh.spark.conf, remote)

    @classmethod
    def from_env(cls) -> Settings:
        return cls.build(
            os.environ.get("USEROPS_CONFIG"),
            os.environ.get("USEROPS_LANDING"),
            os.environ.get("USEROPS_WAREHOUSE"),
        )
