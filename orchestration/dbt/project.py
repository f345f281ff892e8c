"""The dbt project as Dagster sees it, and an explicit, cached manifest build."""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from orchestration.dbt.helpers import vars_arg
from orchestration.settings import DBT_PROJECT_DIR, Settings

log = logging.getLogger(__name__)

TARGET_DIR = DBT_PROJECT_DIR / "target"
MANIFEST = TARGET_DIR / "manifest.json"


PARSE_STATE = "partial_parse.msgpack"


def parse_state_key(settings: Settings) -> str:
    """What a dbt parse depends on besides the project's files: the --vars, the engine and
    the database name (the warehouse file's stem, which dbt writes into every relation name).
    Not the warehouse's folder: dbt.inprocess keeps it out of dbt's parse-state check."""
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
    (UseropsDbtCliResource copies the partial_parse.msgpack it finds there into each
    invocation's target folder)."""
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


KEEP_DBT_RUNS = 20  # runs whose dbt artifacts (run_results.json, logs) are kept


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


def dbt_executable() -> Path:
    """The dbt of this environment, found without PATH (a `.venv/bin/userops` started
    without activating the environment still finds it)."""
    return Path(sys.executable).with_name("dbt")


class UseropsDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, with dbt run in this process (orchestration/dbt/inprocess.py)
    and without two start-up costs it pays before each invocation: `dbt --version` (~4.5 s:
    dbt imports every adapter plugin) to learn a version that the installed dbt-core
    package states; and a dbt adapter built in this process (the profile and all macros,
    ~2 s) only to fetch row counts or column metadata on request, which the pipeline
    never makes."""

    # The settings of this resource's configuration (dbt_env), set for the duration of
    # each invocation only (dbt.inprocess.invocation_env), never process-wide.
    invocation_env: dict[str, str] = {}

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - see the docstring
        return None

    def cli(self, args, *, raise_on_error=True, manifest=None, dagster_dbt_translator=None,
            context=None, target_path=None):
        """DbtCliResource.cli, the same arguments and events, with dbt in this process."""
        from dagster_dbt.asset_utils import (
            extract_runtime_selection_from_args,
            get_updated_cli_invocation_params_for_context,
        )
        from dagster_dbt.dagster_dbt_translator import (
            DagsterDbtTranslator,
            validate_opt_translator,
        )
        from dagster_dbt.dbt_manifest import validate_manifest

        from orchestration.dbt.inprocess import InProcessDbtInvocation

        translator = validate_opt_translator(dagster_dbt_translator) or DagsterDbtTranslator()
        manifest = validate_manifest(manifest) if manifest else {}
        cleaned, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context, manifest=manifest, dagster_dbt_translator=translator,
            runtime_selects=selects, runtime_excludes=excludes)
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project
                           else self.project_dir)
        target_path = Path(target_path or self._get_unique_target_path(context=context))
        if not target_path.is_absolute():
            target_path = project_dir / target_path
        dbt_args = [*self.global_config_flags, *cleaned, *params.selection_args,
                    "--project-dir", str(project_dir),
                    "--profiles-dir", str(self.profiles_dir or project_dir),
                    "--no-use-colors", "--no-send-anonymous-usage-stats", "--quiet"]
        if params.indirect_selection:
            dbt_args += ["--indirect-selection", params.indirect_selection]
        state = self.invocation_env.get("DBT_TARGET_PATH")
        partial = Path(state) / PARSE_STATE if state else None
        if partial is None or not partial.exists():
            # a key's first run starts from the project's parse (prepare_manifest): dbt
            # parses partially if its vars match, else fully, as without a state
            partial = TARGET_DIR / PARSE_STATE
        return InProcessDbtInvocation.start(
            dbt_args, target_path=target_path, partial_parse=partial, env=self.invocation_env,
            manifest=params.manifest, dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir, raise_on_error=raise_on_error, context=context,
            adapter=None, cli_version=self._cli_version, project=params.dbt_project)


def dbt_resource(settings: Settings) -> UseropsDbtCliResource:
    """dbt for one configuration: its warehouse, memory limit, engine and parse state as
    values of the resource (dbt_env), applied per invocation."""
    return UseropsDbtCliResource(project_dir=dbt_project(), dbt_executable=str(dbt_executable()),
                                 invocation_env=dbt_env(settings))


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
    """`dbt parse` with the run's own --vars and environment, in this process like the
    runs (dbt.inprocess), so that the runs that follow parse partially from its state."""
    from orchestration.dbt.inprocess import parse_in_process

    args = ["parse", "--quiet", *vars_arg(settings.config.dbt_vars()),
            "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(TARGET_DIR)]
    parse_in_process(args, dbt_env(settings))
    keep_parse_state(settings, TARGET_DIR)
    return MANIFEST
