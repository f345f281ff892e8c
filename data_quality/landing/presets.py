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
- snowplow: the enriched events as the pipeline writes them: tab-separated, no header,
  131 fields in a fixed order (event_id, user_id, domain_userid, domain_sessionid,
  derived_tstamp, event_name, se_action, mkt_campaign, unstruct_event ...).
  https://docs.snowplow.io/docs/pipeline/enriched-tsv-format/
- posthog: the batch export's events model (Parquet or JSON lines): uuid, event,
  distinct_id, timestamp, properties (JSON text) with $device_id, $session_id, $os, $lib,
  utm_campaign. https://posthog.com/docs/data-pipelines/batch-exports/s3

A column a preset reads may be absent from a file (an export of anonymous traffic only
has no userId): it is then NULL. Only the columns every file of the export has are
required: without them the file is set apart as unreadable, naming them.
"""

from __future__ import annotations

from data_quality.landing.formats import EntityMapping, epoch_time, json_path
from data_quality.landing.read import quote

PRESETS = ("segment", "ga4", "amplitude", "mixpanel", "posthog", "snowplow")

# The enriched TSV's fields, in the order of the page cited above
_SNOWPLOW_FIELDS = """
app_id platform etl_tstamp collector_tstamp dvce_created_tstamp event event_id txn_id
name_tracker v_tracker v_collector v_etl user_id user_ipaddress user_fingerprint
domain_userid domain_sessionidx network_userid geo_country geo_region geo_city geo_zipcode
geo_latitude geo_longitude geo_region_name ip_isp ip_organization ip_domain ip_netspeed
page_url page_title page_referrer page_urlscheme page_urlhost page_urlport page_urlpath
page_urlquery page_urlfragment refr_urlscheme refr_urlhost refr_urlport refr_urlpath
refr_urlquery refr_urlfragment refr_medium refr_source refr_term mkt_medium mkt_source
mkt_term mkt_content mkt_campaign contexts se_category se_action se_label se_property
se_value unstruct_event tr_orderid tr_affiliation tr_total tr_tax tr_shipping tr_city
tr_state tr_country ti_orderid ti_sku ti_name ti_category ti_price ti_quantity
pp_xoffset_min pp_xoffset_max pp_yoffset_min pp_yoffset_max useragent br_name br_family
br_version br_type br_renderengine br_lang br_features_pdf br_features_flash
br_features_java br_features_director br_features_quicktime br_features_realplayer
br_features_windowsmedia br_features_gears br_features_silverlight br_cookies
br_colordepth br_viewwidth br_viewheight os_name os_family os_manufacturer os_timezone
dvce_type dvce_ismobile dvce_screenwidth dvce_screenheight doc_charset doc_width
doc_height tr_currency tr_total_base tr_tax_base tr_shipping_base ti_currency
ti_price_base base_currency geo_timezone mkt_clickid mkt_network etl_tags
dvce_sent_tstamp refr_domain_userid refr_device_tstamp derived_contexts domain_sessionid
derived_tstamp event_vendor event_name event_format event_version event_fingerprint
true_tstamp"""
SNOWPLOW_FIELDS = tuple(_SNOWPLOW_FIELDS.split())

# GA4's nested columns as the BigQuery export types them (docs above): read typed
_GA4_PARAMS = ('[{"key": "VARCHAR", "value": {"string_value": "VARCHAR", '
               '"int_value": "BIGINT", "float_value": "DOUBLE", "double_value": "DOUBLE"}}]')
_GA4_SOURCE = '{"manual_campaign_name": "VARCHAR"}'


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
    params = quote("event_params")
    session = f"list_filter({params}, lambda p: p.key = 'ga_session_id')[1]"
    # the params as one JSON object, key: value as text (built as text: a map and
    # to_json cost twice as much)
    pairs = (f"list_transform({params}, lambda p: to_json(p.key) || ':' || "
             f"to_json({_ga4_param_value('p')}))")
    event_time, bad_time = epoch_time(quote("event_timestamp"), "microseconds")
    columns = {
        "user_id": _nonblank(quote("user_id")),
        "anonymous_id": _nonblank(quote("user_pseudo_id")),
        "event_name": quote("event_name"),
        "event_time": event_time,
        # GA4's session key is the device's pseudo id with its ga_session_id
        "session_id": f"{quote('user_pseudo_id')} || '-' || {_ga4_param_value(session)}",
        "platform": quote("platform"),
        "campaign_id": f"{quote('collected_traffic_source')}.manual_campaign_name",
        # one concat (its NULL is ''): a pair whose value is NULL is left out, no params
        # at all is NULL
        "properties": f"(case when {params} is not null then concat('{{', "
                      f"array_to_string({pairs}, ','), '}}') end)",
    }
    return EntityMapping(columns,
                         required=frozenset({"event_timestamp", "event_name",
                                             "user_pseudo_id"}),
                         optional=frozenset({"user_id", "platform", "event_params",
                                             "collected_traffic_source"}),
                         nested={"event_params": "properties",
                                 "collected_traffic_source": "campaign_id"},
                         typed={"event_params": _GA4_PARAMS,
                                "collected_traffic_source": _GA4_SOURCE},
                         rejects=((bad_time, "unparseable_time", "event_time"),))


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
    event_time, bad_time = epoch_time(json_path("properties", "/time"), "seconds")
    columns = {
        "user_id": user,
        # without a $device_id, an unidentified distinct_id is the device's
        "anonymous_id": f"coalesce({device}, case when {user} is null then {distinct} end)",
        "event_name": quote("event"),
        "event_time": event_time,
        "platform": f"coalesce({prop('$os')}, {prop('mp_lib')})",
        "campaign_id": prop("utm_campaign"),
        "properties": quote("properties"),
        # events sent without $insert_id get the content-derived id of other exports
        "event_id": prop("$insert_id"),
    }
    return EntityMapping(columns, required=frozenset({"event", "properties"}),
                         nested={"properties": "event_time"}, derive_missing_ids=True,
                         rejects=((bad_time, "unparseable_time", "event_time"),))


def posthog() -> EntityMapping:
    def prop(key: str) -> str:
        return _nonblank(json_path("properties", "/" + key))

    distinct, device = _nonblank(quote("distinct_id")), prop("$device_id")
    columns = {
        "event_id": quote("uuid"),
        # before identify, PostHog's distinct_id is the device's id; after, the user's
        "user_id": f"case when {device} is null or {distinct} <> {device} then {distinct} end",
        "anonymous_id": device,
        "event_name": quote("event"),
        "event_time": quote("timestamp"),
        "session_id": prop("$session_id"),
        "platform": f"coalesce({prop('$os')}, {prop('$lib')})",
        "campaign_id": prop("utm_campaign"),
        "properties": quote("properties"),
    }
    return EntityMapping(columns, required=frozenset({"uuid", "event", "distinct_id",
                                                      "timestamp"}),
                         optional=frozenset({"properties"}),
                         nested={"properties": "session_id"})


def snowplow() -> EntityMapping:
    unstruct = quote("unstruct_event")
    columns = {
        "event_id": quote("event_id"),
        "user_id": _nonblank(quote("user_id")),
        # the first-party cookie's id, else the collector's third-party one
        "anonymous_id": f"coalesce({_nonblank(quote('domain_userid'))}, "
                        f"{_nonblank(quote('network_userid'))})",
        # a structured event is named by its action; the others by their schema's name
        "event_name": (f"case when {quote('event')} = 'struct' then "
                       f"{_nonblank(quote('se_action'))} else coalesce("
                       f"{_nonblank(quote('event_name'))}, {quote('event')}) end"),
        # the time the event happened, corrected for the device's clock (Snowplow's advice)
        "event_time": (f"coalesce({_nonblank(quote('derived_tstamp'))}, "
                       f"{quote('collector_tstamp')})"),
        "session_id": _nonblank(quote("domain_sessionid")),
        "platform": quote("platform"),
        "campaign_id": _nonblank(quote("mkt_campaign")),
        # a self-describing event's own data (inside its envelope)
        "properties": f"(case when json_valid({unstruct}) then "
                      f"cast(json_extract({unstruct}, '$.data.data') as varchar) end)",
    }
    return EntityMapping(columns, required=frozenset({"event_id", "event", "collector_tstamp"}),
                         optional=frozenset(SNOWPLOW_FIELDS),
                         nested={"unstruct_event": "properties"},
                         tsv_header=SNOWPLOW_FIELDS)


# Events a tracker records by itself or for bookkeeping, not a person using the product:
# with that export, they join activity.passive_events (docs/METRICS.md, "Key events").
# Segment's calls other than track land named by their type; GA4's automatically
# collected events; Amplitude's session and identify events; Mixpanel's and PostHog's
# identity and page events.
PASSIVE_EVENTS: dict[str, tuple[str, ...]] = {
    "segment": ("identify", "page", "screen", "group", "alias"),
    "ga4": ("first_visit", "first_open", "session_start", "user_engagement", "page_view",
            "screen_view", "scroll"),
    "amplitude": ("session_start", "session_end", "$identify", "[Amplitude] Page Viewed"),
    "mixpanel": ("$identify", "$create_alias", "$merge", "$mp_web_page_view"),
    "posthog": ("$identify", "$pageview", "$pageleave", "$screen", "$set", "$groupidentify",
                "$feature_flag_called"),
    # the page-view heartbeat
    "snowplow": ("page_ping",),
}


def preset(name: str) -> EntityMapping:
    """The events mapping of the export `name` (one of PRESETS)."""
    return {"segment": segment, "ga4": ga4, "amplitude": amplitude, "mixpanel": mixpanel,
            "posthog": posthog, "snowplow": snowplow}[name]()
