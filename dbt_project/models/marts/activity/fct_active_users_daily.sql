{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_run_window('activity_date') }}",
        tags=['daily'],
    )
}}

{#- DAU, rolling WAU (7 days) and MAU (28 days) ending on each day, stickiness.
    One row per day and breakdown; breakdown = 'all' is the overall row. -#}

{#- The spine runs from the first day with any user-day (never earlier, so
    incremental runs and a full refresh agree) to the end of the run window. -#}
with bounds as (
    select
        {% if is_incremental() -%}
        greatest({{ window_lower() }}, (select min(activity_date) from {{ ref('int_user_days') }}))
        {%- else -%}
        (select min(activity_date) from {{ ref('int_user_days') }})
        {%- endif %} as lower_date,
        {{ window_end() }} as upper_date
),

days as (
    {{ day_spine('(select lower_date from bounds)', '(select upper_date from bounds)') }}
),

user_days as (
    select user_id, activity_date, is_active, is_bounced_only
    from {{ ref('int_user_days') }}
    where activity_date between (select {{ add_days('lower_date', -27) }} from bounds)
        and (select upper_date from bounds)
),

first_active as (
    select user_id, min(activity_date) as first_active_date
    from {{ ref('int_user_days') }}
    where is_active and activity_date <= (select upper_date from bounds)
    group by user_id
),

rolling as (
    select
        days.activity_date,
        count(distinct case when a.activity_date = days.activity_date then a.user_id end) as dau,
        count(distinct case when a.activity_date > {{ add_days('days.activity_date', -7) }} then a.user_id end) as wau,
        count(distinct a.user_id) as mau
    from days
    left join user_days as a
        on a.is_active
        and a.activity_date between {{ add_days('days.activity_date', -27) }} and days.activity_date
    group by days.activity_date
),

daily_flags as (
    select
        activity_date,
        cast(sum(case when is_bounced_only then 1 else 0 end) as bigint) as bounced_only_users
    from user_days
    group by activity_date
),

new_users as (
    select first_active_date as activity_date, count(*) as new_users
    from first_active
    group by first_active_date
)

select
    rolling.activity_date,
    'all' as breakdown,
    'all' as breakdown_value,
    rolling.dau,
    rolling.wau,
    rolling.mau,
    case when rolling.mau > 0 then cast(rolling.dau as double) / rolling.mau end as stickiness,
    coalesce(new_users.new_users, 0) as new_users,
    coalesce(daily_flags.bounced_only_users, 0) as bounced_only_users
from rolling
left join new_users on rolling.activity_date = new_users.activity_date
left join daily_flags on rolling.activity_date = daily_flags.activity_date
