{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('link_date'),
        pre_hook="{{ delete_run_window('link_date') }}",
    )
}}

{#- Each day an event carried both a visitor's anonymous_id and a user_id (an identify
    call, or any event tracked after login): one row per anonymous id, user and day, with
    the first such event's time. Read by int_identity_map, which keeps each anonymous id's
    first link (docs/METRICS.md, "Events, ids and visitors"). Daily, as the user-days are:
    a run reads its window's events only. -#}

select
    anonymous_id,
    user_id,
    activity_date as link_date,
    min(event_at) as linked_at
from {{ ref('stg_app__events') }}
where anonymous_id is not null
    and user_id is not null
    and {{ in_run_window('activity_date') }}
    {{ landed_in_run_window('landed_event_time') }}
group by anonymous_id, user_id, activity_date
