"""The trackers' event exports land as they are (data_quality/landing/presets.py).

Each fixture is written by hand from the vendor's documentation of its export (cited
above each), with the bad rows an export really has: a missing time, a broken nested
field, an unparseable epoch. Every row read is either staged or quarantined."""

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from data_quality.landing import LandingError, ValidationRules, landing_time_range, sync_landing
from data_quality.landing.formats import DERIVED_ID_PREFIX
from data_quality.landing.presets import SNOWPLOW_FIELDS, preset
from orchestration.config import UseropsConfig
from orchestration.settings import landing_mappings

RULES = ValidationRules(now=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))


def _write_jsonl(path: Path, records: list[dict | str], gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def _land(landing: Path, fmt: str) -> tuple[duckdb.DuckDBPyConnection, dict]:
    con = duckdb.connect()
    report = sync_landing(con, landing, RULES, "run-1", max_bad_row_rate=1.0,
                          mappings={"events": preset(fmt)})
    rows = con.execute(
        "select event_id, user_id, anonymous_id, event_name, "
        "strftime(event_time, '%Y-%m-%d %H:%M:%S'), session_id, platform, campaign_id, "
        "properties from raw.events order by event_time, event_id").fetchall()
    reasons = dict(con.execute("select reason || ':' || coalesce(column_name, ''), count(*) "
                               "from raw.quarantine group by 1").fetchall())
    assert report.rows_read["events"] == len(rows) + sum(reasons.values())  # nothing lost
    return con, {"rows": rows, "reasons": reasons}


# https://www.twilio.com/docs/segment/connections/spec/common (common fields: messageId,
# anonymousId, userId, timestamp, context.campaign, context.device) and .../spec/track,
# .../spec/page (a page call has no `event`)
SEGMENT = [
    {"type": "page", "messageId": "m-1", "anonymousId": "anon-1", "name": "Home",
     "timestamp": "2025-02-01T09:00:00.000Z",
     "context": {"campaign": {"name": "spring", "source": "newsletter", "medium": "email"},
                 "library": {"name": "analytics.js", "version": "4.1.0"}},
     "properties": {"path": "/"}},
    {"type": "identify", "messageId": "m-2", "anonymousId": "anon-1", "userId": "u-1",
     "timestamp": "2025-02-01T09:01:00.000Z", "traits": {"plan": "free"},
     "context": {"library": {"name": "analytics.js"}}},
    {"type": "track", "event": "Order Completed", "messageId": "m-3", "userId": "u-1",
     "anonymousId": "anon-1", "timestamp": "2025-02-01T09:05:00.000Z",
     "context": {"device": {"type": "ios"}}, "properties": {"order_id": "o-1", "total": 30}},
    # re-delivered: the same messageId, a counted duplicate
    {"type": "track", "event": "Order Completed", "messageId": "m-3", "userId": "u-1",
     "anonymousId": "anon-1", "timestamp": "2025-02-01T09:05:00.000Z",
     "context": {"device": {"type": "ios"}}, "properties": {"order_id": "o-1", "total": 30}},
    {"type": "track", "event": "Signed Up", "messageId": "m-4", "userId": "u-2"},  # no time
    '{"type": "track", "event": "Clicked", "messageId": "m-5", "userId": "u-2", '
    '"timestamp": "2025-02-01T10:00:00Z", "context": "{not json"}',  # broken context
]


def test_segment_messages_land_with_their_ids_campaign_and_anonymous_visitor(tmp_path):
    _write_jsonl(tmp_path / "events" / "2025-02-01.json.gz", SEGMENT, gz=True)
    con, got = _land(tmp_path, "segment")
    assert [r[:8] for r in got["rows"]] == [
        ("m-1", None, "anon-1", "page", "2025-02-01 09:00:00", None, "analytics.js", "spring"),
        ("m-2", "u-1", "anon-1", "identify", "2025-02-01 09:01:00", None, "analytics.js",
         None),
        ("m-3", "u-1", "anon-1", "Order Completed", "2025-02-01 09:05:00", None, "ios", None),
    ]
    assert json.loads(got["rows"][2][8]) == {"order_id": "o-1", "total": 30}
    assert got["reasons"] == {"duplicate_key:event_id": 1, "null_time:event_time": 1,
                              "malformed_field:platform": 1}
    # the row as the export had it is what the quarantine keeps
    record = con.execute("select record from raw.quarantine where reason = "
                         "'malformed_field'").fetchone()[0]
    assert json.loads(record)["messageId"] == "m-5"


# https://support.google.com/analytics/answer/7029846 (BigQuery Export schema):
# event_timestamp INTEGER microseconds, event_params RECORD REPEATED (key, value with
# string_value / int_value / float_value / double_value), user_pseudo_id, user_id,
# platform, collected_traffic_source.manual_campaign_name
def _ga4_params(session: int, page: str) -> list[dict]:
    return [{"key": "ga_session_id", "value": {"string_value": None, "int_value": session,
                                                "float_value": None, "double_value": None}},
            {"key": "page_location", "value": {"string_value": page, "int_value": None,
                                                "float_value": None, "double_value": None}}]


GA4 = [
    {"event_date": "20250201", "event_timestamp": 1738400400000000, "event_name": "page_view",
     "event_params": _ga4_params(1738400000, "https://shop.example/"), "user_id": None,
     "user_pseudo_id": "1234.5678", "platform": "WEB",
     "collected_traffic_source": {"manual_campaign_name": "spring",
                                  "manual_source": "google", "manual_medium": "cpc"}},
    {"event_date": "20250201", "event_timestamp": 1738400460000000, "event_name": "login",
     "event_params": _ga4_params(1738400000, "https://shop.example/login"),
     "user_id": "u-9", "user_pseudo_id": "1234.5678", "platform": "WEB",
     "collected_traffic_source": None},
    {"event_date": "20250201", "event_timestamp": "soon", "event_name": "scroll",  # bad epoch
     "event_params": [], "user_id": None, "user_pseudo_id": "1234.5678", "platform": "WEB",
     "collected_traffic_source": None},
]


def test_ga4_rows_land_with_derived_ids_and_the_session_of_their_device(tmp_path):
    _write_jsonl(tmp_path / "events" / "events_20250201.jsonl", GA4)
    _, got = _land(tmp_path, "ga4")
    rows = got["rows"]
    assert [r[1:8] for r in rows] == [
        (None, "1234.5678", "page_view", "2025-02-01 09:00:00", "1234.5678-1738400000", "WEB",
         "spring"),
        ("u-9", "1234.5678", "login", "2025-02-01 09:01:00", "1234.5678-1738400000", "WEB",
         None),
    ]
    # the documented id (docs/METRICS.md, "Event id"), pinned: a change to it would count
    # a file delivered again after an upgrade a second time
    for r in rows:
        content = "\x1f".join([r[1] or "", r[2], r[3], f"{r[4]}+00", r[8]])
        assert r[0] == DERIVED_ID_PREFIX + hashlib.md5(content.encode()).hexdigest()
    assert json.loads(rows[1][8])["page_location"] == "https://shop.example/login"
    assert got["reasons"] == {"unparseable_time:event_time": 1}


def test_ga4_rows_without_params_or_traffic_source_still_land(tmp_path):
    """A file of the export may lack the nested columns altogether."""
    bare = [{k: v for k, v in r.items() if k not in ("event_params",
                                                       "collected_traffic_source")}
            for r in GA4[:2]]
    _write_jsonl(tmp_path / "events" / "events_20250201.jsonl", bare)
    _, got = _land(tmp_path, "ga4")
    assert [(r[3], r[5], r[7], r[8]) for r in got["rows"]] == [
        ("page_view", None, None, None), ("login", None, None, None)]  # no params: NULL
    assert got["reasons"] == {}


def test_ga4_in_parquet_lands_the_same_rows_as_in_json_lines(tmp_path):
    """The export's Parquet has event_params as a list of structs, not JSON text."""
    _write_jsonl(tmp_path / "src.jsonl", GA4[:2])
    parquet = tmp_path / "pq" / "events" / "events_20250201.parquet"
    parquet.parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"copy (select * from read_json('{tmp_path / 'src.jsonl'}', columns = "
                "{event_date: 'VARCHAR', event_timestamp: 'BIGINT', event_name: 'VARCHAR', "
                "event_params: 'STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, "
                "int_value BIGINT, float_value DOUBLE, double_value DOUBLE))[]', "
                "user_id: 'VARCHAR', user_pseudo_id: 'VARCHAR', platform: 'VARCHAR', "
                "collected_traffic_source: 'STRUCT(manual_campaign_name VARCHAR, "
                f"manual_source VARCHAR, manual_medium VARCHAR)'}})) to '{parquet}'")
    _write_jsonl(tmp_path / "js" / "events" / "events_20250201.jsonl", GA4[:2])
    _, from_parquet = _land(tmp_path / "pq", "ga4")
    _, from_json = _land(tmp_path / "js", "ga4")
    assert from_parquet["rows"] == from_json["rows"] and len(from_json["rows"]) == 2


# https://amplitude.com/docs/apis/analytics/export (a zip of gzipped JSON lines; events
# with uuid, event_type, event_time in UTC, user_id, device_id, session_id in ms or -1,
# platform, event_properties, user_properties)
AMPLITUDE = [
    {"uuid": "a-1", "event_type": "view_item", "event_time": "2025-02-01 09:00:00.123000",
     "user_id": None, "device_id": "dev-1", "session_id": 1738400000000, "platform": "iOS",
     "event_properties": {"item": "shoes"}, "user_properties": {"utm_campaign": "spring"}},
    {"uuid": "a-2", "event_type": "purchase", "event_time": "2025-02-01 09:10:00.000000",
     "user_id": "u-5", "device_id": "dev-1", "session_id": -1, "platform": "iOS",
     "event_properties": {"revenue": 12.5}, "user_properties": {}},
    {"uuid": "a-3", "event_type": "purchase", "event_time": "", "user_id": "u-5",
     "device_id": "dev-1", "session_id": -1, "platform": "iOS"},  # missing time
]


def test_amplitude_events_land_with_device_sessions(tmp_path):
    _write_jsonl(tmp_path / "events" / "123_2025-02-01_9#0.json.gz", AMPLITUDE, gz=True)
    _, got = _land(tmp_path, "amplitude")
    assert [r[:8] for r in got["rows"]] == [
        ("a-1", None, "dev-1", "view_item", "2025-02-01 09:00:00", "dev-1-1738400000000",
         "iOS", "spring"),
        ("a-2", "u-5", "dev-1", "purchase", "2025-02-01 09:10:00", None, "iOS", None),
    ]
    assert got["reasons"] == {"null_time:event_time": 1}


# https://developer.mixpanel.com/reference/raw-event-export (JSON lines of event and
# properties: time in seconds, distinct_id, $insert_id, $user_id, $device_id, mp_lib)
MIXPANEL = [
    {"event": "Viewed Page", "properties": {"time": 1738400400, "distinct_id": "$device:d-7",
                                            "$device_id": "d-7", "$insert_id": "i-1",
                                            "mp_lib": "web", "utm_campaign": "spring"}},
    {"event": "Signed Up", "properties": {"time": 1738400700, "distinct_id": "u-7",
                                          "$user_id": "u-7", "$device_id": "d-7",
                                          "$os": "Mac OS X"}},  # no $insert_id
    {"event": "Signed Up", "properties": {"time": 1738400700, "distinct_id": "u-7",
                                          "$user_id": "u-7", "$device_id": "d-7",
                                          "$os": "Mac OS X"}},  # re-delivered
    {"event": "Viewed Page", "properties": {"time": "yesterday", "distinct_id": "u-7",
                                            "$insert_id": "i-3"}},  # unparseable epoch
]


def test_mixpanel_events_land_and_a_redelivered_row_without_insert_id_is_a_duplicate(tmp_path):
    _write_jsonl(tmp_path / "events" / "export.jsonl", MIXPANEL)
    _, got = _land(tmp_path, "mixpanel")
    rows = got["rows"]
    assert [r[:8] for r in rows] == [
        ("i-1", None, "d-7", "Viewed Page", "2025-02-01 09:00:00", None, "web", "spring"),
        (rows[1][0], "u-7", "d-7", "Signed Up", "2025-02-01 09:05:00", None, "Mac OS X", None),
    ]
    assert rows[1][0].startswith(DERIVED_ID_PREFIX)
    assert got["reasons"] == {"duplicate_key:event_id": 1, "unparseable_time:event_time": 1}


# https://posthog.com/docs/data-pipelines/batch-exports/s3 (the events model: uuid,
# event, distinct_id, person_id, properties as JSON text, timestamp)
POSTHOG = [
    {"uuid": "p-1", "event": "$pageview", "distinct_id": "dev-3", "person_id": "x",
     "timestamp": "2025-02-01T09:00:00Z",
     "properties": json.dumps({"$device_id": "dev-3", "$session_id": "s-1", "$os": "iOS",
                               "utm_campaign": "spring"})},
    {"uuid": "p-2", "event": "signed_up", "distinct_id": "u-3", "person_id": "x",
     "timestamp": "2025-02-01T09:02:00Z",
     "properties": json.dumps({"$device_id": "dev-3", "$session_id": "s-1", "$os": "iOS"})},
    {"uuid": "p-3", "event": "invoice_paid", "distinct_id": "u-3", "person_id": "x",
     "timestamp": "2025-02-01T10:00:00Z", "properties": json.dumps({"$lib": "posthog-python"})},
    {"uuid": "p-4", "event": "$pageview", "distinct_id": "dev-3", "person_id": "x",
     "timestamp": "2025-02-01T11:00:00Z", "properties": "{\"$device_id\": "},  # cut short
]


def test_posthog_events_land_with_the_device_before_identify_and_the_user_after(tmp_path):
    _write_jsonl(tmp_path / "events" / "export.jsonl", POSTHOG)
    _, got = _land(tmp_path, "posthog")
    assert [r[:8] for r in got["rows"]] == [
        ("p-1", None, "dev-3", "$pageview", "2025-02-01 09:00:00", "s-1", "iOS", "spring"),
        ("p-2", "u-3", "dev-3", "signed_up", "2025-02-01 09:02:00", "s-1", "iOS", None),
        ("p-3", "u-3", None, "invoice_paid", "2025-02-01 10:00:00", None, "posthog-python",
         None),
    ]
    assert got["reasons"] == {"malformed_field:session_id": 1}


# https://docs.snowplow.io/docs/pipeline/enriched-tsv-format/ (the 131 fields, in order,
# no header) and .../fundamentals/canonical-event/ (struct events: se_*; self-describing
# events: unstruct_event, an envelope around the event's own schema and data)
def _snowplow_line(**fields: str) -> str:
    assert set(fields) <= set(SNOWPLOW_FIELDS)
    return "\t".join(fields.get(name, "") for name in SNOWPLOW_FIELDS)


_CHECKOUT = ('{"schema":"iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",'
             '"data":{"schema":"iglu:com.acme/checkout_started/jsonschema/1-0-0",'
             '"data":{"cart_value":30}}}')
SNOWPLOW = [
    _snowplow_line(app_id="shop", platform="web", collector_tstamp="2025-02-01 09:00:01.000",
                   derived_tstamp="2025-02-01 09:00:00.000", event="page_view",
                   event_id="sp-1", domain_userid="dom-1", network_userid="net-1",
                   domain_sessionid="sess-1", mkt_campaign="spring", event_name="page_view",
                   page_title='He said "hi"'),  # quotes stay as they are (no quoting)
    _snowplow_line(app_id="shop", platform="web", collector_tstamp="2025-02-01 09:02:00.000",
                   derived_tstamp="2025-02-01 09:02:00.000", event="struct", event_id="sp-2",
                   user_id="u-1", domain_userid="dom-1", domain_sessionid="sess-1",
                   se_category="shop", se_action="add_to_cart", event_name="event"),
    _snowplow_line(app_id="shop", platform="mob", collector_tstamp="2025-02-01 09:05:00.000",
                   event="unstruct", event_id="sp-3", user_id="u-1", network_userid="net-9",
                   unstruct_event=_CHECKOUT, event_name="checkout_started"),
    _snowplow_line(platform="web", collector_tstamp="2025-02-01 09:06:00.000",
                   event="unstruct", event_id="sp-4", user_id="u-1",
                   unstruct_event='{"schema": broken', event_name="checkout_started"),
    _snowplow_line(platform="web", event="page_view", event_id="sp-5", user_id="u-2",
                   event_name="page_view"),  # no time at all
    _snowplow_line(platform="web", collector_tstamp="yesterday", event="page_view",
                   event_id="sp-6", user_id="u-2", event_name="page_view"),
    "shop\tweb\ttoo few fields",
]


def test_snowplow_enriched_tsv_lands_by_position_with_its_struct_and_self_describing_events(
        tmp_path):
    path = tmp_path / "events" / "part-0001.tsv.gz"
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(SNOWPLOW) + "\n")
    _, got = _land(tmp_path, "snowplow")
    assert got["rows"] == [
        ("sp-1", None, "dom-1", "page_view", "2025-02-01 09:00:00", "sess-1", "web", "spring",
         None),
        ("sp-2", "u-1", "dom-1", "add_to_cart", "2025-02-01 09:02:00", "sess-1", "web", None,
         None),
        ("sp-3", "u-1", "net-9", "checkout_started", "2025-02-01 09:05:00", None, "mob", None,
         '{"cart_value":30}'),
    ]
    assert got["reasons"] == {"malformed_field:properties": 1, "null_time:event_time": 1,
                              "unparseable_time:event_time": 1, "malformed_row:": 1}
    # the default run window reads the headerless file by position too
    first, last = landing_time_range(tmp_path, mappings={"events": preset("snowplow")})
    assert (str(first), str(last)) == ("2025-02-01 09:00:00+00:00", "2025-02-01 09:06:00+00:00")


def test_a_file_without_a_column_the_preset_needs_is_set_apart_naming_it(tmp_path):
    _write_jsonl(tmp_path / "events" / "a.jsonl", [{"event": "x", "userId": "u"}])
    con = duckdb.connect()
    with pytest.raises(LandingError, match="events/a.jsonl: lacks the column.*messageId"):
        sync_landing(con, tmp_path, RULES, "run-1", mappings={"events": preset("segment")})


def test_renamed_columns_and_epoch_milliseconds_land_and_the_time_range_reads_them(tmp_path):
    cfg = UseropsConfig.model_validate({"landing": {
        "columns": {"events": {"user_id": "uid", "event_name": "name", "event_time": "ts"}},
        "time_unit": {"events": "milliseconds"}}})
    mappings = landing_mappings(cfg)
    path = tmp_path / "events" / "a.csv"
    path.parent.mkdir(parents=True)
    path.write_text("uid,name,ts,plan\nu1,open,1738400400000,pro\nu1,open,oops,pro\n"
                    "u1,open,1738400400000,pro\n", encoding="utf-8")
    con = duckdb.connect()
    report = sync_landing(con, tmp_path, RULES, "run-1", max_bad_row_rate=1.0,
                          mappings=mappings)
    rows = con.execute("select event_id, user_id, event_name, event_time, extra "
                       "from raw.events").fetchall()
    assert len(rows) == 1 and rows[0][1:3] == ("u1", "open")
    assert rows[0][3] == dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)
    assert json.loads(rows[0][4]) == {"plan": "pro"}  # an unmapped column is kept
    reasons = dict(con.execute("select reason, count(*) from raw.quarantine group by 1")
                   .fetchall())
    assert reasons == {"unparseable_time": 1, "duplicate_key": 1}  # same content, same id
    assert report.rows_read["events"] == 3
    first, last = landing_time_range(tmp_path, mappings=mappings)
    assert first == last and first.isoformat().startswith("2025-02-01T09:00")


def test_a_mapping_of_a_column_the_contract_lacks_is_a_config_error_naming_it():
    with pytest.raises(ValueError, match="unknown column.*usr_id"):
        UseropsConfig.model_validate({"landing": {"columns": {"events": {"usr_id": "uid"}}}})
    with pytest.raises(ValueError, match="events only|export of events"):
        UseropsConfig.model_validate({"landing": {"format": {"orders": "segment"}}})


def test_the_generator_can_write_every_export_it_knows(tmp_path):
    from orchestration.cli import build_parser
    from sample_data.exports import EXPORT_FORMATS

    for fmt in EXPORT_FORMATS:
        args = build_parser().parse_args(["generate", "--out", str(tmp_path),
                                          "--events-format", fmt])
        assert args.events_format == fmt
