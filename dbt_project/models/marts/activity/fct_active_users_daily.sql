{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_run_window('activity_date') }}",
        tags=['daily'],
    )
}}

{#- Active users per day: overall (breakdown 'all'), per acquisition channel and
    per platform. DAU; WAU and MAU over the rolling 7 and 28 days ending on the
    day; week-to-date (ISO week, Monday) and month-to-date actives; stickiness;
    new users; bounced-only users. -#}

with bounds as (
    select
        {{ daily_spine_start() }} as lower_date,
        {{ window_end() }} as upper_date
),

days as (
    {{ day_spine('(select lower_date from bounds)', '(select upper_date from bounds)') }}
),

{#- 30 days back covers both the 28-day MAU and month-to-date on day 31. -#}
user_days as (
    select user_id, activity_date, is_active, is_bounced_only
    from {{ ref('int_user_days') }}
    where activity_date between (select {{ add_days('lower_date', -30) }} from bounds)
        and (select upper_date from bounds)
),

activity as (
    select user_id, activity_date, 'all' as breakdown, 'all' as breakdown_value,
        is_active, is_bounced_only
    from user_days
    union all
    select d.user_id, d.activity_date, 'channel' as breakdown,
        coalesce(u.channel, 'unknown') as breakdown_value, d.is_active, d.is_bounced_only
    from user_days as d
    left join {{ ref('stg_app__users') }} as u on d.user_id = u.user_id
    union all
    select user_id, activity_date, 'platform' as breakdown, platform as breakdown_value,
        is_active, is_bounced_only
    from {{ ref('int_user_platform_days') }}
    where activity_date between (select {{ add_days('lower_date', -30) }} from bounds)
        and (select upper_date from bounds)
),

{#- The overall row exists every day; a breakdown value has a row on a day when
    it has any user-day in the 28 days ending on that day. -#}
grid as (
    select activity_date, 'all' as breakdown, 'all' as breakdown_value
    from days
    union
    select days.activity_date, a.breakdown, a.breakdown_value
    from days
    inner join activity as a
        on a.breakdown <> 'all'
        and a.activity_date between {{ add_days('days.activity_date', -27) }} and days.activity_date
),

rolling as (
    select
        g.activity_date,
        g.breakdown,
        g.breakdown_value,
        count(distinct case when a.activity_date = g.activity_date then a.user_id end) as dau,
        count(distinct case when a.activity_date > {{ add_days('g.activity_date', -7) }} then a.user_id end) as wau,
        count(distinct case when a.activity_date > {{ add_days('g.activity_date', -28) }} then a.user_id end) as mau,
        count(distinct case when a.activity_date >= cast({{ dbt.date_trunc('week', 'g.activity_date') }} as date)
            then a.user_id end) as calendar_week_actives,
        count(distinct case when a.activity_date >= cast({{ dbt.date_trunc('month', 'g.activity_date') }} as date)
            then a.user_id end) as calendar_month_actives
    from grid as g
    left join activity as a
        on a.is_active
        and a.breakdown = g.breakdown
        and a.breakdown_value = g.breakdown_value
        and a.activity_date between {{ add_days('g.activity_date', -30) }} and g.activity_date
    group by g.activity_date, g.breakdown, g.breakdown_value
),

{#- First active days come from int_user_cohorts (as of the snapshot day, which
    is never before upper_date; a first day after upper_date matches no row here). -#}
first_active as (
    select user_id, first_active_date
    from {{ ref('int_user_cohorts') }}
    where first_active_date is not null
),

daily as (
    select
        a.activity_date,
        a.breakdown,
        a.breakdown_value,
        count(distinct case when a.is_bounced_only then a.user_id end) as bounced_only_users,
        count(distinct case when a.is_active and f.first_active_date = a.activity_date
            then a.user_id end) as new_users
    from activity as a
    left join first_active as f on a.user_id = f.user_id
    group by a.activity_date, a.breakdown, a.breakdown_value
)

select
    r.activity_date,
    r.breakdown,
    r.breakdown_value,
    r.dau,
    r.wau,
    r.mau,
    r.calendar_week_actives,
    r.calendar_month_actives,
    case when r.mau > 0 then cast(r.dau as double) / r.mau end as stickiness,
    coalesce(d.new_users, 0) as new_users,
    coalesce(d.bounced_only_users, 0) as bounced_only_users
from rolling as r
left join daily as d
    on r.activity_date = d.activity_date
    and r.breakdown = d.breakdown
    and r.breakdown_value = d.breakdown_value
