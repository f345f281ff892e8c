{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- Per user and day: the engagement index over the trailing window (engaged
    visits, not events; orders-only data: purchase days) and the activity tier.
    A user has a row on each day whose window holds any of their user-days. -#}

{%- set window = var('engagement_window_days') | int %}

with bounds as (
    select
        {{ daily_spine_start() }} as lower_date,
        {{ window_end() }} as upper_date
),

days as (
    {{ day_spine('(select lower_date from bounds)', '(select upper_date from bounds)') }}
),

user_days as (
    select user_id, activity_date, engagement_units, is_active
    from {{ ref('int_user_days') }}
    where activity_date between (select {{ add_days('lower_date', 1 - window) }} from bounds)
        and (select upper_date from bounds)
),

windowed as (
    select
        days.activity_date,
        ud.user_id,
        cast(sum(ud.engagement_units) as bigint) as engagement_index,
        count(*) as days_seen,
        max(case when ud.is_active then ud.activity_date end) as last_active_date
    from days
    inner join user_days as ud
        on ud.activity_date between {{ add_days('days.activity_date', 1 - window) }} and days.activity_date
    group by days.activity_date, ud.user_id
)

select
    activity_date,
    user_id,
    engagement_index,
    {{ activity_tier('engagement_index') }} as activity_tier,
    days_seen,
    last_active_date
from windowed
