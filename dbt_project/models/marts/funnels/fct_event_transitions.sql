{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('week_start'),
        pre_hook="{{ delete_from_rebuild_day('week_start', 6) }}",
    )
}}

{#- Paths (docs/METRICS.md, "Paths"): per ISO week, each event name and what came next in
    the same visit, '(visit ended)' when nothing did: how often and by how many users.
    The visit is int_sessions' (a landed session_id; otherwise the gap rule, a visit
    never crossing midnight), so the drop-off after any funnel step reads here. A run
    rebuilds the weeks from the one its first rebuilt day falls in. -#}

{%- set timeout = var('session_timeout_minutes') | int * 60 %}

with bounds as (
    select {{ period_start('week', rebuild_from(0)) }} as lower_date,
        {{ snapshot_date() }} as upper_date
),

events as (
    select user_id, activity_date, event_at, event_id, event_name, session_id
    from {{ ref('int_events') }}
    where activity_date between (select lower_date from bounds) and (select upper_date from bounds)
),

{#- the next event of the same landed session, or of the day's events without one -#}
followed as (
    select
        *,
        lead(event_name) over visit as next_name,
        lead(event_at) over visit as next_at
    from events
    window visit as (partition by user_id, activity_date, coalesce(session_id, '')
                     order by event_at, event_id)
)

select
    {{ period_start('week', 'activity_date') }} as week_start,
    event_name as from_event,
    case
        when next_name is null then '(visit ended)'
        when session_id is null
            and {{ seconds_between('event_at', 'next_at') }} > {{ timeout }} then '(visit ended)'
        else next_name
    end as to_event,
    count(*) as transitions,
    count(distinct user_id) as users
from followed
group by 1, 2, 3
