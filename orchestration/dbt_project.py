"""The dbt project as Dagster sees it, and an explicit, cached manifest build."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.dbt_helpers import vars_arg
from orchestration.settings import DBT_PROJECT_DIR, Settings

log = logging.getLogger(__name__)

TARGET_DIR = DBT_PROJECT_DIR / "target"
MANIFEST = TARGET_DIR / "manifest.json"


def dbt_env(settings: Settings) -> dict[str, str]:
    """The environment dbt needs: profiles.yml reads the warehouse path from it."""
    return {"USEROPS_WAREHOUSE": str(settings.warehouse)}


def apply_dbt_env(settings: Settings) -> None:
    # dagster-dbt starts dbt with this process's environment.
    os.environ.update(dbt_env(settings))


def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


PROJECT_SOURCES = ("models", "macros", "seeds", "tests", "dbt_project.yml")


def manifest_is_stale() -> bool:
    """True when the manifest is missing or older than any file of the dbt project, so an
    edited model never runs against the asset graph of its previous version."""
    if not MANIFEST.exists():
        return True
    built = MANIFEST.stat().st_mtime
    for name in PROJECT_SOURCES:
        path = DBT_PROJECT_DIR / name
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        if any(f.stat().st_mtime > built for f in files):
            return True
    return False


def prepare_manifest(settings: Settings) -> Path:
    """`dbt parse` with the run's own --vars and environment, so the runs that
    follow can parse partially (dbt re-parses everything when either changes)."""
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [
        str(dbt),
        "parse",
        "--quiet",
        *vars_arg(settings.config.dbt_vars()),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(TARGET_DIR),
    ]
    env = {**os.environ, **dbt_env(settings)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{proc.stdout}\n{proc.stderr}")
    return MANIFEST
