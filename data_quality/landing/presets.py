"""The event exports of common trackers, mapped onto the contract's events (formats.py).

Each preset follows its vendor's documented export; tests/test_presets.py lands a
hand-written fixture of each, citing the page it follows:

- segment: the tracking API's messages as Segment's raw exports write them (JSON lines,
  often gzipped): messageId, type, event, userId, anonymousId, timestamp, context,
  properties. https://www.twilio.com/docs/segment/connections/spec/common
- ga4: Google Analytics 4's BigQuery export rows (Parquet or JSON lines): event_timestamp
  in microseconds, event_name, user_id, user_pseudo_id, platform, event_params (a list of
  key and typed value), collected_traffic_source. No event id: one is derived.
  https://support.google.com/analytics/answer/7029846
- amplitude: the Export API's events (gzipped JSON lines; unzip the archive): uuid,
  event_type, event_time (UTC), user_id, device_id, session_id (ms, -1 without one),
  platform, event_properties, user_properties. https://amplitude.com/docs/apis/analytics/export
- mixpanel: the raw event export (JSON lines): event, and properties with time (epoch
  seconds), distinct_id, $insert_id, $user_id, $device_id.
  https://developer.mixpanel.com/reference/raw-event-export

A column a preset reads may be absent from a file (an export of anonymous traffic only
has no userId): it is then NULL. Only the columns every file of the export has are
required: without them the file is set apart as unreadable, naming them.
"""

from __future__ import annotations

from data_quality.landing.formats import (
    EntityMapping,
    derived_event_id,
    epoch_text,
    json_path,
)
from data_quality.landing.read import quote

PRESETS = ("segment", "ga4", "amplitude", "mixpanel")

# GA4's event_params as DuckDB reads its JSON text (the Parquet export is turned into the
# same text first): a list of key and typed value
_GA4_PARAMS = ("""'[{"key": "VARCHAR", "value": {"string_value": "VARCHAR", """
               """"int_value": "BIGINT", "float_value": "DOUBLE", "double_value": "DOUBLE"}}]'""")


def _ga4_params() -> str:
    col = quote("event_params")
    return f"(case when json_valid({col}) then from_json({col}, {_GA4_PARAMS}) end)"


def _ga4_param_value(param: str) -> str:
    return ("coalesce(" + param + ".value.string_value, cast(" + param + ".value.int_value "
            "as varchar), cast(coalesce(" + param + ".value.double_value, " + param
            + ".value.float_value) as varchar))")


def _nonblank(sql: str) -> str:
    return f"nullif(trim(cast({sql} as varchar)), '')"


def segment() -> EntityMapping:
    columns = {
        "event_id": quote("messageId"),
        "user_id": _nonblank(quote("userId")),
        "anonymous_id": _nonblank(quote("anonymousId")),
        # a page or screen call has no event name: its type names it
        "event_name": f"coalesce({_nonblank(quote('event'))}, {quote('type')})",
        "event_time": quote("timestamp"),
        "platform": f"coalesce({json_path('context', '$.device.type')}, "
                    f"{json_path('context', '$.os.name')}, "
                    f"{json_path('context', '$.library.name')})",
        "campaign_id": json_path("context", "$.campaign.name"),
        "properties": quote("properties"),
    }
    return EntityMapping(columns, required=frozenset({"messageId", "type", "timestamp"}),
                         optional=frozenset({"userId", "anonymousId", "event", "context",
                                             "properties"}),
                         nested={"context": "platform", "properties": "properties"})


def ga4() -> EntityMapping:
    params = _ga4_params()
    session = f"list_filter({params}, lambda p: p.key = 'ga_session_id')[1]"
    pairs = (f"list_transform({params}, lambda p: struct_pack(key := p.key, "
             f"value := {_ga4_param_value('p')}))")
    columns = {
        "user_id": _nonblank(quote("user_id")),
        "anonymous_id": _nonblank(quote("user_pseudo_id")),
        "event_name": quote("event_name"),
        "event_time": epoch_text(quote("event_timestamp"), "microseconds"),
        # GA4's session key is the device's pseudo id with its ga_session_id
        "session_id": f"{quote('user_pseudo_id')} || '-' || {_ga4_param_value(session)}",
        "platform": quote("platform"),
        "campaign_id": json_path("collected_traffic_source", "$.manual_campaign_name"),
        "properties": f"cast(to_json(map_from_entries({pairs})) as varchar)",
    }
    mapping = EntityMapping(columns,
                            required=frozenset({"event_timestamp", "event_name",
                                                "user_pseudo_id"}),
                            optional=frozenset({"user_id", "platform", "event_params",
                                                "collected_traffic_source"}),
                            nested={"event_params": "properties",
                                    "collected_traffic_source": "campaign_id"})
    return mapping


def amplitude() -> EntityMapping:
    session = quote("session_id")
    columns = {
        "event_id": quote("uuid"),
        "user_id": _nonblank(quote("user_id")),
        "anonymous_id": _nonblank(quote("device_id")),
        "event_name": quote("event_type"),
        "event_time": quote("event_time"),
        # a session is a device's session start (ms); -1: the event had none
        "session_id": (f"case when {_nonblank(session)} not in ('-1') then "
                       f"{quote('device_id')} || '-' || cast({session} as varchar) end"),
        "platform": quote("platform"),
        "campaign_id": json_path("user_properties", "$.utm_campaign"),
        "properties": quote("event_properties"),
    }
    return EntityMapping(columns, required=frozenset({"uuid", "event_type", "event_time"}),
                         optional=frozenset({"user_id", "device_id", "session_id",
                                             "platform", "user_properties",
                                             "event_properties"}),
                         nested={"event_properties": "properties",
                                 "user_properties": "campaign_id"})


def mixpanel() -> EntityMapping:
    def prop(key: str) -> str:  # a JSON pointer: Mixpanel's own keys start with '$'
        return _nonblank(json_path("properties", "/" + key))

    user, device, distinct = prop("$user_id"), prop("$device_id"), prop("distinct_id")
    columns = {
        "user_id": user,
        # without a $device_id, an unidentified distinct_id is the device's
        "anonymous_id": f"coalesce({device}, case when {user} is null then {distinct} end)",
        "event_name": quote("event"),
        "event_time": epoch_text(prop("time"), "seconds"),
        "platform": f"coalesce({prop('$os')}, {prop('mp_lib')})",
        "campaign_id": prop("utm_campaign"),
        "properties": quote("properties"),
    }
    # events sent without $insert_id get the content-derived id of other exports
    columns["event_id"] = f"coalesce({prop('$insert_id')}, {derived_event_id(columns)})"
    return EntityMapping(columns, required=frozenset({"event", "properties"}),
                         nested={"properties": "event_time"})


def preset(name: str) -> EntityMapping:
    """The events mapping of the export `name` (one of PRESETS)."""
    return {"segment": segment, "ga4": ga4, "amplitude": amplitude,
            "mixpanel": mixpanel}[name]()
