"""The dbt project as Dagster sees it, and an explicit, cached manifest build."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

from orchestration.dbt.helpers import vars_arg
from orchestration.dbt.runner import InProcessDbt, invocation_env
from orchestration.settings import DBT_PROJECT_DIR, Settings

log = logging.getLogger(__name__)

TARGET_DIR = DBT_PROJECT_DIR / "target"
MANIFEST = TARGET_DIR / "manifest.json"


PARSE_STATE = "partial_parse.msgpack"


def parse_state_key(settings: Settings) -> str:
    """What a dbt parse depends on besides the project's files: the --vars, the engine and
    the database name (the warehouse file's stem, which dbt writes into every relation name).
    Not the warehouse's folder: orchestration/internals/dbt_duckdb.py keeps it out of dbt's
    parse-state check."""
    text = (vars_arg(settings.config.dbt_vars())[1] + "|" + settings.warehouse.stem + "|"
            + settings.config.warehouse.engine)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_state_dir(settings: Settings) -> Path:
    """dbt's saved parse state, shared by every warehouse with the same parse inputs: the
    first run of a new warehouse (a test, a benchmark, a second product) parses
    partially (~0.5 s) instead of parsing the whole project (~5-8 s)."""
    return TARGET_DIR / "parse_state" / parse_state_key(settings)


def dbt_env(settings: Settings) -> dict[str, str]:
    """The environment dbt needs: profiles.yml reads the warehouse path and its memory
    limit from it, and DBT_TARGET_PATH names the parse state its invocations start from
    (dbt_resource starts each invocation from the partial_parse.msgpack it finds there)."""
    wh = settings.config.warehouse
    env = {"USEROPS_WAREHOUSE": str(settings.warehouse),
           "USEROPS_MEMORY_LIMIT": wh.memory_limit,
           "USEROPS_DBT_TARGET": wh.engine,
           "DBT_TARGET_PATH": str(parse_state_dir(settings))}
    if wh.engine == "spark":  # the token and user stay in the environment, as given
        env.update({"USEROPS_SPARK_METHOD": wh.spark.method,
                    "USEROPS_SPARK_HOST": wh.spark.host or "NA",
                    "USEROPS_SPARK_PORT": str(wh.spark.port),
                    "USEROPS_SPARK_CLUSTER": wh.spark.cluster or "",
                    "USEROPS_SPARK_ENDPOINT": wh.spark.endpoint or ""})
    return env


KEEP_DBT_RUNS = 20  # runs whose dbt artifacts (node_results.json, logs) are kept


def dbt_runs_dir(settings: Settings) -> Path:
    return settings.dagster_home / "dbt_runs"


def prune_dbt_runs(settings: Settings, keep: int = KEEP_DBT_RUNS) -> None:
    """Each run keeps its invocations' target folders (a manifest of a few MB each): the
    oldest beyond the last `keep` runs are removed, so a daily schedule does not fill the
    disk."""
    root = dbt_runs_dir(settings)
    if not root.is_dir():
        return
    runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[:-keep] if keep else runs:
        shutil.rmtree(old, ignore_errors=True)


def keep_parse_state(settings: Settings, target: Path) -> None:
    """After an invocation: its parse state becomes the shared one of its key (atomically:
    processes of other warehouses may read or write it at the same time)."""
    produced = target / PARSE_STATE
    if not produced.exists():
        return
    state = parse_state_dir(settings)
    state.mkdir(parents=True, exist_ok=True)
    tmp = state / f".{PARSE_STATE}.{os.getpid()}"
    shutil.copyfile(produced, tmp)
    os.replace(tmp, state / PARSE_STATE)


def dbt_resource(settings: Settings) -> InProcessDbt:
    """dbt for one configuration: its warehouse, memory limit, engine and parse state as
    values of the resource (dbt_env), applied per invocation. Each invocation starts from
    the saved parse state of its key, or from the project's parse (prepare_manifest) on a
    key's first run: dbt then parses partially if its vars match, else fully."""
    env = dbt_env(settings)
    return InProcessDbt(project_dir=str(DBT_PROJECT_DIR), invocation_env=env,
                        parse_states=[str(Path(env["DBT_TARGET_PATH"]) / PARSE_STATE),
                                      str(TARGET_DIR / PARSE_STATE)])


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
    """`dbt parse` with the run's own --vars and environment, in this process like the
    runs (dbt/runner.py), so that the runs that follow parse partially from its state."""
    from dbt.cli.main import dbtRunner

    args = ["parse", "--quiet", *vars_arg(settings.config.dbt_vars()),
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(TARGET_DIR)]
    with invocation_env(dbt_env(settings)):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception or 'see the dbt log'}")
    keep_parse_state(settings, TARGET_DIR)
    return MANIFEST
