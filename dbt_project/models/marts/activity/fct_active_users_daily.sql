{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- Active users per day: overall (breakdown 'all'), per acquisition channel, per
    platform and per configured attribute of the users (breakdowns.attributes, bounded in
    int_user_attributes; a day keeps the values its users had when it was built). DAU;
    WAU and MAU over the rolling 7 and 28 days ending on the day; week-to-date (ISO week,
    Monday) and month-to-date actives; stickiness; new users; bounced-only users. -#}

-- depends_on: {{ ref('int_user_attributes') }}
with bounds as (
    select
        {{ daily_spine_start() }} as lower_date,
        {{ window_end() }} as upper_date
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
    {{ attribute_breakdown_rows('user_days', 'x.user_id, x.activity_date',
                                'x.is_active, x.is_bounced_only') }}
),

{#- Rolling distinct users without a join over the 30 days: each active user-day opens
    an interval of days on which the user counts (for WAU: until 7 days later or the
    user's next active day, whichever comes first; for the calendar week: from the
    user's first active day in the week to its end), the intervals of a user never
    overlap, so a day's count is the running sum of +1 at each interval's start and -1
    at its end. Linear in user-days, where a join over the window is user-days x 30. -#}
active as (
    select distinct breakdown, breakdown_value, user_id, activity_date
    from activity
    where is_active
),

spans as (
    select
        breakdown,
        breakdown_value,
        activity_date,
        lead(activity_date) over (
            partition by breakdown, breakdown_value, user_id order by activity_date
        ) as next_date,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month_start,
        row_number() over (
            partition by breakdown, breakdown_value, user_id,
                cast({{ dbt.date_trunc('week', 'activity_date') }} as date)
            order by activity_date
        ) as nth_in_week,
        row_number() over (
            partition by breakdown, breakdown_value, user_id,
                cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
            order by activity_date
        ) as nth_in_month
    from active
),

deltas as (
    select breakdown, breakdown_value, activity_date as day, 1 as dau, 1 as wau, 1 as mau,
        case when nth_in_week = 1 then 1 else 0 end as cw,
        case when nth_in_month = 1 then 1 else 0 end as cm
    from spans
    union all
    select breakdown, breakdown_value, {{ add_days('activity_date', 1) }}, -1, 0, 0, 0, 0
    from spans
    union all
    select breakdown, breakdown_value,
        least({{ add_days('activity_date', 7) }}, coalesce(next_date, {{ add_days('activity_date', 7) }})),
        0, -1, 0, 0, 0
    from spans
    union all
    select breakdown, breakdown_value,
        least({{ add_days('activity_date', 28) }}, coalesce(next_date, {{ add_days('activity_date', 28) }})),
        0, 0, -1, 0, 0
    from spans
    union all
    select breakdown, breakdown_value, {{ add_days('week_start', 7) }}, 0, 0, 0, -1, 0
    from spans where nth_in_week = 1
    union all
    select breakdown, breakdown_value, cast({{ dbt.dateadd('month', 1, 'month_start') }} as date),
        0, 0, 0, 0, -1
    from spans where nth_in_month = 1
),

changes as (
    select breakdown, breakdown_value, day as activity_date,
        sum(dau) as dau, sum(wau) as wau, sum(mau) as mau, sum(cw) as cw, sum(cm) as cm
    from deltas
    group by breakdown, breakdown_value, day
),

{#- The overall row exists every day; a breakdown value has a row on a day when
    it has any user-day in the 28 days ending on that day. Days start 30 before the
    window, so that the running sums see every interval still open in it. -#}
values_seen as (
    select 'all' as breakdown, 'all' as breakdown_value
    union
    select distinct breakdown, breakdown_value from activity
),

dense as (
    {{ day_spine(add_days('(select lower_date from bounds)', -30), '(select upper_date from bounds)') }}
),

user_day_counts as (
    select breakdown, breakdown_value, activity_date, count(*) as user_days
    from activity
    group by breakdown, breakdown_value, activity_date
),

running as (
    select
        d.activity_date,
        v.breakdown,
        v.breakdown_value,
        sum(coalesce(n.user_days, 0)) over w28 as user_days_28,
        sum(coalesce(c.dau, 0)) over running_total as dau,
        sum(coalesce(c.wau, 0)) over running_total as wau,
        sum(coalesce(c.mau, 0)) over running_total as mau,
        sum(coalesce(c.cw, 0)) over running_total as cw,
        sum(coalesce(c.cm, 0)) over running_total as cm
    from values_seen as v
    cross join dense as d
    left join user_day_counts as n
        on n.breakdown = v.breakdown and n.breakdown_value = v.breakdown_value
        and n.activity_date = d.activity_date
    left join changes as c
        on c.breakdown = v.breakdown and c.breakdown_value = v.breakdown_value
        and c.activity_date = d.activity_date
    window
        running_total as (partition by v.breakdown, v.breakdown_value order by d.activity_date
            rows between unbounded preceding and current row),
        w28 as (partition by v.breakdown, v.breakdown_value order by d.activity_date
            rows between 27 preceding and current row)
),

rolling as (
    select
        activity_date,
        breakdown,
        breakdown_value,
        cast(dau as bigint) as dau,
        cast(wau as bigint) as wau,
        cast(mau as bigint) as mau,
        cast(cw as bigint) as calendar_week_actives,
        cast(cm as bigint) as calendar_month_actives
    from running
    where activity_date >= (select lower_date from bounds)
        and (breakdown = 'all' or user_days_28 > 0)
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
