"""One source for each default: orchestration/config.py. The copies a user reads or dbt
runs with (userops.yaml, docs/CONFIGURATION.md's table, dbt_project.yml's vars) must say the
same."""

import re
from pathlib import Path

import yaml

from orchestration.config import UseropsConfig, parse_config

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = UseropsConfig()


def _plain(value):
    """A config value as YAML would write it, for comparison with a table cell."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def test_dbt_project_vars_are_the_config_defaults():
    """dbt run by hand (without the pipeline's --vars) uses dbt_project.yml's vars."""
    project = yaml.safe_load((ROOT / "dbt_project" / "dbt_project.yml").read_text())
    assert project["vars"] == DEFAULTS.dbt_vars()


def test_dbt_profile_falls_back_to_the_default_memory_limit():
    """dbt run by hand (without the pipeline's environment) reads the fallback."""
    profile = (ROOT / "dbt_project" / "profiles.yml").read_text()
    assert f"env_var('USEROPS_MEMORY_LIMIT', '{DEFAULTS.warehouse.memory_limit}')" in profile


def test_userops_yaml_states_every_default_but_the_demo_paths():
    data = yaml.safe_load((ROOT / "userops.yaml").read_text())
    shipped = parse_config(data, "userops.yaml").model_dump()
    defaults = DEFAULTS.model_dump()
    assert shipped.pop("paths")["landing"] == Path("data/landing/demo")  # the demo landing
    defaults.pop("paths")
    assert shipped == defaults
    # and it names every key, so a user sees what can be set
    for section, values in defaults.items():
        if isinstance(values, dict):
            assert set(data.get(section, {})) == set(values), section


def _documented_rows() -> list[tuple[list[str], list[str]]]:
    block = (ROOT / "docs" / "CONFIGURATION.md").read_text()
    rows = []
    for line in block.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        keys = re.findall(r"`([^`]+)`", cells[0])
        section = keys[0].rsplit(".", 1)[0] if "." in keys[0] else ""
        full = [keys[0]] + [k if "." in k or not section else f"{section}.{k}" for k in keys[1:]]
        rows.append((full, [d.strip().strip("`") for d in cells[1].split(" / ")]))
    return rows


def _same(cell: str, value) -> bool:
    value = _plain(value)
    if value is None:
        return cell == "null"
    if isinstance(value, bool):
        return cell == str(value).lower()
    if isinstance(value, int | float):
        return float(cell) == float(value)
    if isinstance(value, list):
        return yaml.safe_load(cell) == value
    return cell == str(value)


def test_the_configuration_page_states_the_defaults():
    config = DEFAULTS.model_dump()
    checked = 0
    for keys, cells in _documented_rows():
        if cells == ["data/..."]:  # the two data paths, abbreviated on purpose
            assert keys == ["paths.landing", "paths.warehouse"]
            continue
        assert len(keys) == len(cells), keys
        for key, cell in zip(keys, cells, strict=True):
            value = config
            for part in key.split("."):
                value = value[part]
            assert _same(cell, value), \
                f"docs/CONFIGURATION.md says {key} = {cell}, config.py {value!r}"
            checked += 1
    assert checked >= 60  # the table covers the settings, not a handful of them


def test_the_models_settings_have_no_defaults_and_come_from_the_config():
    """A default of a model's own would be a number production never uses (it once said
    300,000 backtest training rows where the config said 100,000)."""
    import dataclasses

    from orchestration import model_settings

    built = {
        "alerts": model_settings.alert_thresholds(DEFAULTS),
        "churn": model_settings.churn_settings(DEFAULTS),
        "backtest": model_settings.backtest_settings(DEFAULTS),
        "loop": model_settings.loop_settings(DEFAULTS),
    }
    for name, settings in built.items():
        for field in dataclasses.fields(settings):
            assert field.default is dataclasses.MISSING, f"{name}.{field.name} has a default"
            assert field.default_factory is dataclasses.MISSING, f"{name}.{field.name}"
    config = DEFAULTS.model_dump()
    # each value is the config's, under the same name in its section or as named here
    renamed = {("backtest", "max_training_rows"): config["churn"]["backtest_max_training_rows"],
               ("churn", "holdout_days"): DEFAULTS.churn.evaluation_holdout_days,
               ("churn", "churn_days"): config["lifecycle"]["churn_days"],
               ("backtest", "churn_days"): config["lifecycle"]["churn_days"]}
    sections = {"alerts": ("alerts", "channels", "engagement"), "churn": ("churn",),
                "backtest": ("churn",), "loop": ("loop",)}
    for name, settings in built.items():
        for field in dataclasses.fields(settings):
            value = getattr(settings, field.name)
            if (name, field.name) in renamed:
                assert value == renamed[(name, field.name)], (name, field.name)
                continue
            found = [config[s][field.name] for s in sections[name] if field.name in config[s]]
            assert found, f"{name}.{field.name} is set in code, not in the config"
            assert value == (tuple(found[0]) if isinstance(found[0], list) else found[0]), \
                (name, field.name)
