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
    {{ is_key_event('event_name') }} as is_key_event
from source
