import datetime as dt
from pathlib import Path

import pytest

from orchestration.config import ConfigError, load_config, parse_config


def test_defaults_are_the_metrics_defaults():
    cfg = parse_config({})
    assert cfg.activity.session_timeout_minutes == 30
    assert cfg.activity.bounce_min_events == 2
    assert cfg.activity.bounce_min_seconds == 10
    assert cfg.activity.passive_events == ["page_view", "app_open"]
    assert cfg.timezone == "UTC"


def test_unknown_key_is_an_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"activity\.sesion_timeout_minutes: unknown key"):
        parse_config({"activity": {"sesion_timeout_minutes": 30}})


def test_unknown_top_level_key():
    with pytest.raises(ConfigError, match=r"colour: unknown key"):
        parse_config({"colour": "blue"})


def test_bad_value_names_the_key():
    with pytest.raises(ConfigError, match=r"quality\.max_bad_row_rate"):
        parse_config({"quality": {"max_bad_row_rate": 1.5}})
    with pytest.raises(ConfigError, match=r"start_date"):
        parse_config({"start_date": "yesterday-ish"})


def test_unknown_timezone():
    with pytest.raises(ConfigError, match=r"timezone: .*unknown IANA time zone 'Mars/Olympus'"):
        parse_config({"timezone": "Mars/Olympus"})


def test_hostile_event_name_is_rejected():
    with pytest.raises(ConfigError, match=r"activity\.key_events"):
        parse_config({"activity": {"key_events": ["x'); drop table raw.events; --"]}})


def test_key_and_passive_overlap_is_an_error():
    with pytest.raises(ConfigError, match="both key and passive"):
        parse_config({"activity": {"key_events": ["page_view"]}})


def test_rfm_frequency_property_needs_its_event():
    with pytest.raises(ConfigError, match="frequency_property needs frequency_event"):
        parse_config({"rfm": {"frequency_property": "minutes"}})
    rfm = parse_config({"rfm": {"frequency_event": "watch", "frequency_property": "minutes"}})
    assert rfm.dbt_vars()["rfm_frequency_property"] == "minutes"


def test_not_a_mapping(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(p)


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_file_round_trip(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("start_date: 2024-03-01\ntimezone: Asia/Shanghai\n")
    cfg = load_config(p)
    assert cfg.start_date == dt.date(2024, 3, 1)
    assert cfg.dbt_vars()["reporting_timezone"] == "Asia/Shanghai"


def test_memory_limit_is_a_size_and_reaches_dbt_and_the_warehouse(tmp_path):
    with pytest.raises(ConfigError, match=r"warehouse\.memory_limit: .*'lots'"):
        parse_config({"warehouse": {"memory_limit": "lots"}})
    from orchestration.dbt.project import dbt_env
    from orchestration.resources import build_warehouse
    from orchestration.settings import Settings

    cfg = tmp_path / "u.yaml"
    cfg.write_text("warehouse: {memory_limit: 700MB}\n"
                   f"paths: {{warehouse: {tmp_path}/w.duckdb}}\n")
    settings = Settings.build(cfg)
    assert dbt_env(settings)["USEROPS_MEMORY_LIMIT"] == "700MB"
    warehouse = build_warehouse(str(settings.warehouse), settings.config.warehouse.memory_limit)
    with warehouse.store.connect() as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "") in {"667.5MiB", "700.0MB", "667.5MB"}, limit


def test_unset_paths_go_beside_the_warehouse(tmp_path):
    from orchestration.settings import Settings

    cfg = parse_config({})
    default = Settings.build(config=cfg)
    assert default.serving == (Path("data") / "serving").absolute()
    assert default.dagster_home == (Path("data") / "dagster_home").absolute()
    shop = Settings.build(warehouse=tmp_path / "a" / "shop.duckdb", config=cfg)
    assert shop.serving == tmp_path / "a" / "shop-serving"
    assert shop.dagster_home == tmp_path / "a" / "shop-dagster_home"
    # set in the config, they stay where they were put
    fixed = Settings.build(warehouse=tmp_path / "shop.duckdb",
                           config=parse_config({"paths": {"serving": str(tmp_path / "s")}}))
    assert fixed.serving == tmp_path / "s"


def test_a_trackers_bookkeeping_events_are_passive_with_its_export(tmp_path):
    """An identify or page call is not use: with Segment's export they join the passive
    events; the native format keeps the configured list alone."""
    from tests.conftest import make_settings

    native = make_settings(tmp_path / "n", tmp_path / "landing")
    segment = make_settings(tmp_path / "s", tmp_path / "landing",
                            landing={"format": {"events": "segment"}})
    assert native.config.dbt_vars()["passive_events"] == ["page_view", "app_open"]
    passive = segment.config.dbt_vars()["passive_events"]
    assert passive[:2] == ["page_view", "app_open"] and {"identify", "page"} <= set(passive)


def test_a_funnel_needs_two_steps_and_plain_names():
    with pytest.raises(ConfigError, match="funnels"):
        parse_config({"funnels": {"f": {"steps": ["only_one"]}}}, "test")
    with pytest.raises(ConfigError, match="not allowed"):
        parse_config({"funnels": {"f": {"steps": ["a", {"event": "b", "where": {"x'y": 1}}]}}},
                     "test")
    ok = parse_config({"funnels": {"f": {"steps": ["a", {"event": "b", "where": {"n": 3}}]}}},
                      "test")
    assert ok.dbt_vars()["funnels"][0]["steps"][1] == {"event": "b", "where": {"n": "3"}}


def test_a_segment_needs_a_condition_plain_names_and_not_the_name_all():
    with pytest.raises(ConfigError, match="at least one condition"):
        parse_config({"segments": {"s": {"days": 7}}}, "test")
    with pytest.raises(ConfigError, match="'all'"):
        parse_config({"segments": {"all": {"tier": ["high"]}}}, "test")
    with pytest.raises(ConfigError, match="not allowed"):
        parse_config({"segments": {"s": {"attributes": {"x'y": 1}}}}, "test")
    with pytest.raises(ConfigError, match="at least 1"):
        parse_config({"segments": {"s": {"min_events": {"buy": 0}}}}, "test")
    with pytest.raises(ConfigError, match="signup_to"):
        parse_config({"segments": {"s": {"signup_from": "2025-02-01",
                                         "signup_to": "2025-01-01"}}}, "test")
    ok = parse_config({"segments": {"s": {"attributes": {"age": 30, "vip": [True, "yes"]},
                                          "tier": ["high"], "min_events": {"buy": 2}}}},
                      "test").dbt_vars()["segments"]
    assert ok == [{"name": "s", "attributes": {"age": ["30"], "vip": ["true", "yes"]},
                   "channel": None, "platform": None, "lifecycle": None, "tier": ["high"],
                   "rfm11": None, "cn8": None, "risk_band": None, "signup_from": None,
                   "signup_to": None, "min_events": {"buy": 2}, "days": 30}]


def test_a_funnel_breaks_down_by_platform_channel_or_a_users_column():
    ok = parse_config({"funnels": {"f": {"steps": ["a", "b"], "top_values": 3,
                                         "breakdowns": ["channel", "attribute.region"]}}})
    assert ok.dbt_vars()["funnels"][0]["breakdowns"] == ["channel", "attribute.region"]
    assert ok.dbt_vars()["funnels"][0]["top_values"] == 3
    for bad in (["country"], ["attribute.x'y"], ["platform", "platform"], ["attribute."]):
        with pytest.raises(ConfigError, match="breakdowns"):
            parse_config({"funnels": {"f": {"steps": ["a", "b"], "breakdowns": bad}}}, "test")
