"""Runtime settings: the validated config plus the paths of this run.

The CLI builds them from flags; `dagster dev` (workspace.yaml) builds them
from the environment: USEROPS_CONFIG, USEROPS_LANDING, USEROPS_WAREHOUSE.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from orchestration.config import UseropsConfig, load_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


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
        return cls(
            config=config,
            landing=Path(landing or config.paths.landing).absolute(),
            warehouse=Path(warehouse or config.paths.warehouse).absolute(),
            dagster_home=Path(config.paths.dagster_home).absolute(),
            serving=Path(config.paths.serving).absolute(),
        )

    @classmethod
    def from_env(cls) -> Settings:
        return cls.build(
            os.environ.get("USEROPS_CONFIG"),
            os.environ.get("USEROPS_LANDING"),
            os.environ.get("USEROPS_WAREHOUSE"),
        )
