with source as (
    select * from {{ source('raw', 'events') }}
)

{#- Every landed event, a visitor's too (an anonymous_id, no user_id yet). The user-level
    models read int_events: these events with each visitor's stitched to the user they
    became (docs/METRICS.md, "Events, ids and visitors"). -#}

select
    event_id,
    user_id,
    nullif(trim(anonymous_id), '') as anonymous_id,
    event_name,
    {{ to_utc_timestamp('event_time') }} as event_at,
    {{ to_reporting_date(to_utc_timestamp('event_time')) }} as activity_date,
    nullif(trim(session_id), '') as session_id,
    coalesce(nullif(lower(trim(platform)), ''), 'unknown') as platform,
    nullif(trim(campaign_id), '') as campaign_id,
    properties,
    {{ is_key_event('event_name') }} as is_key_event,
    {#- the time as landed (zoned), untouched: a filter on it reaches the landing table's
        scan, so a daily run skips the row groups of other days (landed_in_run_window) -#}
    event_time as landed_event_time
from source
