{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
        on_schema_change=('ignore' if target.type == 'spark' else 'append_new_columns'),
    )
}}

{#- Visits. A landed session_id wins; otherwise a user's events split where the
    gap exceeds the session timeout. A visit never spans midnight of the
    reporting day (as in Google Analytics): each day's visits depend on that
    day's events only, which keeps reporting days independent. -#}

with events as (
    select * from {{ ref('int_events') }}
    where {{ in_run_window('activity_date') }}
        {{ landed_in_run_window('landed_event_time') }}
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
    select user_id, activity_date, 'gap-' || cast(visit_number as string) as visit_key,
        event_at, platform, campaign_id, is_key_event, event_name
    from gap_numbered
    union all
    select user_id, activity_date, 'id-' || session_id as visit_key,
        event_at, platform, campaign_id, is_key_event, event_name
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
        count(campaign_id) as campaign_events,
        -- the same visit seen without campaign-tagged events (engagement trend)
        cast(sum(case when campaign_id is null then 1 else 0 end) as bigint) as events_without_campaign,
        cast(sum(case when campaign_id is null and is_key_event then 1 else 0 end) as bigint) as key_events_without_campaign,
        min(case when campaign_id is null then event_at end) as started_at_without_campaign,
        max(case when campaign_id is null then event_at end) as ended_at_without_campaign,
        min(campaign_id) as campaign_id,
        cast(sum(case when event_name = {{ sql_string(var('page_view_event')) }} then 1 else 0 end) as bigint) as page_views,
        cast(max(case when is_key_event then {{ event_weight('event_name') }} end) as bigint) as engagement_weight,
        cast(max(case when is_key_event and campaign_id is null then {{ event_weight('event_name') }} end) as bigint)
            as engagement_weight_without_campaign
    from keyed
    group by user_id, activity_date, visit_key
)

select
    md5(user_id || '|' || cast(activity_date as string) || '|' || visit_key) as visit_id,
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
    {{ is_bounced('events', 'started_at', 'ended_at') }} as is_bounced,
    (key_events > 0 and not {{ is_bounced('events', 'started_at', 'ended_at') }}) as is_engaged,
    (key_events_without_campaign > 0
        and not {{ is_bounced('events_without_campaign', 'started_at_without_campaign', 'ended_at_without_campaign') }}
    ) as is_engaged_without_campaign,
    {#- added later: at the end, so older warehouses take them in place (nulls before) -#}
    campaign_id,
    page_views,
    engagement_weight,
    engagement_weight_without_campaign
from visits
