{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- Where each day's active users come from (活跃用户来源), and the stock of silent users.
    An active user on day d is exactly one of: new (d is their first active day), kept
    (active on d - 1 too), woken (silent: last active 2 .. churn_days days before d) or
    returned (churned: last active more than churn_days before d, the lifecycle's churn
    standard), so the four sum to DAU. Silent on d: not active on d, last active 1 ..
    churn_days - 1 days before (on churn_days idle days the lifecycle calls them
    churned). Reads churn_days + 1 days before the window, never all history. -#}

{% set churn = var('lifecycle_churn_days') | int %}

with bounds as (
    select {{ daily_spine_start() }} as lower_date, {{ window_end() }} as upper_date
),

active as (
    select distinct user_id, activity_date
    from {{ ref('int_user_days') }}
    where is_active
        and activity_date between (select {{ add_days('lower_date', -(churn + 1)) }} from bounds)
        and (select upper_date from bounds)
),

spans as (
    select
        user_id,
        activity_date,
        lag(activity_date) over (partition by user_id order by activity_date) as previous_date,
        lead(activity_date) over (partition by user_id order by activity_date) as next_date
    from active
),

first_active as (
    select user_id, first_active_date
    from {{ ref('int_user_cohorts') }}
    where first_active_date is not null
),

{#- A previous active day before the days read is more than churn_days back. -#}
sourced as (
    select
        s.activity_date,
        case
            when f.first_active_date = s.activity_date then 'new'
            when s.previous_date is null
                or {{ dbt.datediff('s.previous_date', 's.activity_date', 'day') }} > {{ churn }}
                then 'returned'
            when {{ dbt.datediff('s.previous_date', 's.activity_date', 'day') }} = 1 then 'kept'
            else 'woken'
        end as source
    from spans as s
    left join first_active as f on s.user_id = f.user_id
),

sources as (
    select
        activity_date,
        count(*) as active_users,
        sum(case when source = 'new' then 1 else 0 end) as new_active_users,
        sum(case when source = 'kept' then 1 else 0 end) as kept_active_users,
        sum(case when source = 'woken' then 1 else 0 end) as woken_silent_users,
        sum(case when source = 'returned' then 1 else 0 end) as returned_churned_users
    from sourced
    group by activity_date
),

{#- Silent days of a user: from the day after an active day to the day before the next
    one, at most churn_days - 1 days: +1 where that starts, -1 where it ends. -#}
silent_deltas as (
    select {{ add_days('activity_date', 1) }} as day, 1 as delta
    from spans
    where next_date is null or next_date > {{ add_days('activity_date', 1) }}
    union all
    select
        least(coalesce(next_date, {{ add_days('activity_date', churn) }}),
            {{ add_days('activity_date', churn) }}) as day,
        -1 as delta
    from spans
    where next_date is null or next_date > {{ add_days('activity_date', 1) }}
),

silent_changes as (
    select day as activity_date, sum(delta) as delta from silent_deltas group by day
),

dense as (
    {{ day_spine(add_days('(select lower_date from bounds)', -(churn + 1)), '(select upper_date from bounds)') }}
),

silent as (
    select
        d.activity_date,
        sum(coalesce(c.delta, 0)) over (order by d.activity_date
            rows between unbounded preceding and current row) as silent_users
    from dense as d
    left join silent_changes as c on d.activity_date = c.activity_date
)

select
    s.activity_date,
    cast(coalesce(a.active_users, 0) as bigint) as active_users,
    cast(coalesce(a.new_active_users, 0) as bigint) as new_active_users,
    cast(coalesce(a.kept_active_users, 0) as bigint) as kept_active_users,
    cast(coalesce(a.woken_silent_users, 0) as bigint) as woken_silent_users,
    cast(coalesce(a.returned_churned_users, 0) as bigint) as returned_churned_users,
    cast(s.silent_users as bigint) as silent_users
from silent as s
left join sources as a on s.activity_date = a.activity_date
where s.activity_date >= (select lower_date from bounds)
