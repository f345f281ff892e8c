"""The generator's events written as a tracker would export them (data_quality/landing/
presets.py reads them back): the same events, so a landing in either shape must give the
same marts as the native one (tests/test_presets_e2e.py).

Every event is an identified user's (the generator's users are known from their first
event); each user has one device, `d-<user_id>`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

EXPORT_FORMATS = ("ga4", "amplitude")


def _properties(value: object) -> dict:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def _blank(value: object) -> object:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def _utc(value: object) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def ga4_record(e: dict) -> dict:
    """One BigQuery export row: event_timestamp in microseconds, params as key and value."""
    t = _utc(e["event_time"])
    params = [{"key": "ga_session_id", "value": {"string_value": _blank(e["session_id"])}}]
    params += [{"key": k, "value": {"string_value": json.dumps(v) if not isinstance(v, str)
                                    else v}} for k, v in _properties(e["properties"]).items()]
    platform = _blank(e["platform"])
    campaign = _blank(e["campaign_id"])
    return {"event_date": t.strftime("%Y%m%d"), "event_timestamp": t.value // 1000,
            "event_name": e["event_name"], "event_params": params, "user_id": e["user_id"],
            "user_pseudo_id": f"d-{e['user_id']}",
            "platform": platform.upper() if platform else None,
            "collected_traffic_source": ({"manual_campaign_name": campaign} if campaign
                                         else None)}


def amplitude_record(e: dict) -> dict:
    """One Export API event: event_time as UTC text, the campaign as a user property."""
    t = _utc(e["event_time"])
    campaign = _blank(e["campaign_id"])
    return {"uuid": e["event_id"], "event_type": e["event_name"],
            "event_time": t.strftime("%Y-%m-%d %H:%M:%S.%f"), "user_id": e["user_id"],
            "device_id": f"d-{e['user_id']}", "session_id": _blank(e["session_id"]),
            "platform": _blank(e["platform"]),
            "event_properties": _properties(e["properties"]),
            "user_properties": {"utm_campaign": campaign} if campaign else {}}


def write_events_as(events: pd.DataFrame, folder: Path, fmt: str) -> int:
    """Replace the native event files under `folder` (a landing's events/) by the export
    `fmt`, one file a day; returns the events written."""
    folder = Path(folder)
    for old in folder.glob("events_*.parquet"):
        old.unlink()
    record = {"ga4": ga4_record, "amplitude": amplitude_record}[fmt]
    day = events["event_time"].dt.strftime("%Y%m%d")
    for d, part in events.groupby(day, sort=True):
        lines = "".join(json.dumps(record(e), default=str) + "\n"
                        for e in part.to_dict("records"))
        if fmt == "amplitude":  # the Export API's files are gzipped JSON lines
            with gzip.open(folder / f"export_{d}.json.gz", "wt", encoding="utf-8") as fh:
                fh.write(lines)
        else:
            (folder / f"events_{d}.jsonl").write_text(lines, encoding="utf-8")
    return len(events)
