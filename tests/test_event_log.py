"""The Dagster instance a run uses: the configured event log class is the one in use, its
open connections do not hide writes from other processes, and it bounds its open files."""

import yaml
from dagster import AssetKey, AssetMaterialization

from orchestration.internals import event_log as instance_storage
from orchestration.internals.event_log import (
    CachedEngineSqliteEventLogStorage,
    SqliteEventLogStorage,  # Dagster's own class, as the internals package imports it
)
from orchestration.runner import instance_for, instance_yaml
from tests.conftest import make_settings


def test_the_instance_uses_the_configured_event_log_class(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "landing")
    with instance_for(settings) as instance:
        # Dagster's SqliteEventLogStorage.from_config_value builds its own class by name;
        # a subclass that does not override it is silently replaced
        assert type(instance.event_log_storage) is CachedEngineSqliteEventLogStorage


def test_writes_through_open_connections_are_seen_by_another_reader(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "landing")
    with instance_for(settings) as instance:
        for i in range(3):
            instance.report_runless_asset_event(
                AssetMaterialization(asset_key="orders", metadata={"i": i}))
        # the stock class, as `dagster dev` or another CLI run would open the same files
        other = SqliteEventLogStorage(str(settings.dagster_home / "history" / "runs"))
        try:
            latest = other.get_latest_materialization_events([AssetKey("orders")])
            event = latest[AssetKey("orders")]
            assert event is not None
            assert event.asset_materialization.metadata["i"].value == 2
        finally:
            other.dispose()


def test_open_run_databases_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(instance_storage, "_MAX_OPEN_SHARDS", 2)
    storage = CachedEngineSqliteEventLogStorage(str(tmp_path / "runs"))
    try:
        for shard in ["r1", "r2", "r3", "r4"]:
            with storage._connect(shard):
                pass
        assert list(storage._engines) == ["r3", "r4"]
        with storage._connect("r3"):  # the most recently used stays open
            pass
        with storage._connect("r5"):
            pass
        assert list(storage._engines) == ["r3", "r5"]
    finally:
        storage.dispose()


def test_schema_facts_are_looked_up_once_and_only_when_present(tmp_path, monkeypatch):
    storage = CachedEngineSqliteEventLogStorage(str(tmp_path / "runs"))
    looked: list[str] = []
    stock = SqliteEventLogStorage.has_table

    def counting(self, name):
        looked.append(name)
        return stock(self, name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counting)
    try:
        assert storage.has_table("asset_keys") and storage.has_table("asset_keys")
        assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
        # present: remembered; absent: asked again (a migration may add it)
        assert looked == ["asset_keys", "no_such_table", "no_such_table"]
        assert storage.has_asset_key_col("cached_status_data")
        assert not storage.has_asset_key_col("no_such_column")
    finally:
        storage.dispose()


def test_an_instance_written_before_the_event_log_moved_still_opens(tmp_path):
    settings = make_settings(tmp_path, tmp_path / "landing")
    settings.dagster_home.mkdir(parents=True)
    old = yaml.safe_dump(instance_yaml(settings.dagster_home)).replace(
        "orchestration.internals.event_log", "orchestration.instance_storage")
    (settings.dagster_home / "dagster.yaml").write_text(old)
    with instance_for(settings) as instance:
        assert type(instance.event_log_storage) is CachedEngineSqliteEventLogStorage
