with source as (
    select * from {{ source('raw', 'events') }}
)

select
    event_id,
    user_id,
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
{#- Events of visitors not identified yet (an anonymous_id, no user_id) stay in raw.events;
    every user-level metric counts identified users (docs/METRICS.md). #}
where user_id is not null
