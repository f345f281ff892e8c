{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_run_window('activity_date') }}",
        tags=['daily'],
    )
}}

{#- Visits. A landed session_id wins; otherwise a user's events split where the
    gap exceeds the session timeout. A visit never spans midnight of the
    reporting day (as in Google Analytics): each day's visits depend on that
    day's events only, which keeps daily partitions independent. -#}

with events as (
    select * from {{ ref('stg_app__events') }}
    where {{ in_run_window('activity_date') }}
),

without_id as (
    select
        *,
        lag(event_at) over (partition by user_id, activity_date order by event_at, event_id) as previous_event_at
    from events
    where session_id is null
),

gap_numbered as (
    select
        *,
        sum(
            case
                when previous_event_at is null
                    or {{ seconds_between('previous_event_at', 'event_at') }} > {{ var('session_timeout_minutes') | int * 60 }}
                then 1 else 0
            end
        ) over (partition by user_id, activity_date order by event_at, event_id rows between unbounded preceding and current row) as visit_number
    from without_id
),

keyed as (
    select user_id, activity_date, 'gap-' || cast(visit_number as varchar) as visit_key,
        event_at, platform, campaign_id, is_key_event
    from gap_numbered
    union all
    select user_id, activity_date, 'id-' || session_id as visit_key,
        event_at, platform, campaign_id, is_key_event
    from events
    where session_id is not null
),

visits as (
    select
        user_id,
        activity_date,
        visit_key,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        min(platform) as platform,
        count(*) as events,
        cast(sum(case when is_key_event then 1 else 0 end) as bigint) as key_events,
        count(campaign_id) as campaign_events
    from keyed
    group by user_id, activity_date, visit_key
)

select
    md5(user_id || '|' || cast(activity_date as varchar) || '|' || visit_key) as visit_id,
    user_id,
    activity_date,
    visit_key,
    started_at,
    ended_at,
    {{ seconds_between('started_at', 'ended_at') }} as duration_s,
    platform,
    events,
    key_events,
    campaign_events,
    (events < {{ var('bounce_min_events') | int }}
        or {{ seconds_between('started_at', 'ended_at') }} < {{ var('bounce_min_seconds') | int }}) as is_bounced,
    (key_events > 0
        and not (events < {{ var('bounce_min_events') | int }}
            or {{ seconds_between('started_at', 'ended_at') }} < {{ var('bounce_min_seconds') | int }})) as is_engaged
from visits
