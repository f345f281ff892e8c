"""No code outside orchestration/internals reaches a private part of Dagster, dagster-dbt,
dbt-core or dbt-duckdb: no import of an underscore module or name, no subclass of their
classes beyond the documented extension points."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("dagster", "dagster_dbt", "dagster_shared", "dbt", "dbt_common")
# classes the frameworks document for subclassing
EXTENSION_POINTS = {"DagsterDbtTranslator", "ConfigurableResource", "Config",
                    "ConfigurableIOManager"}
SCANNED = ("orchestration", "models", "data_quality", "benchmarks", "tests", "sample_data")


def _framework(module: str) -> bool:
    return module.split(".")[0] in FRAMEWORKS


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    imported: dict[str, str] = {}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _framework(node.module):
            for alias in node.names:
                imported[alias.asname or alias.name] = node.module
                if any(p.startswith("_") for p in node.module.split(".")) or \
                        alias.name.startswith("_"):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} imports "
                               f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _framework(alias.name) and any(p.startswith("_")
                                                  for p in alias.name.split(".")):
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                if name in imported and name not in EXTENSION_POINTS:
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} subclasses "
                               f"{imported[name]}.{name}")
    return out


def test_private_framework_parts_are_reached_only_from_the_internals_package():
    internals = ROOT / "orchestration" / "internals"
    found = [v for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))
             if internals not in path.parents for v in violations(path)]
    assert found == []


def test_the_scan_sees_a_private_import_and_a_subclass(tmp_path):
    probe = ROOT / "tests" / "_probe_for_scan.py"
    probe.write_text("from dagster._core.storage.event_log import SqliteEventLogStorage\n"
                     "from dagster_dbt import DbtCliResource\n"
                     "class Mine(DbtCliResource):\n    pass\n")
    try:
        found = violations(probe)
    finally:
        probe.unlink()
    assert len(found) == 2
    assert "imports dagster._core.storage.event_log.SqliteEventLogStorage" in found[0]
    assert "subclasses dagster_dbt.DbtCliResource" in found[1]
