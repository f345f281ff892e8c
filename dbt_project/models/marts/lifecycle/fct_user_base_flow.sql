{#- The user base by the churn standard (流失标准), per grain (week, month) and period:
    the users not churned at the period's start (seen before it, and not idle for
    lifecycle.churn_days on its eve), and what flowed in and out during it: new users
    (first active day), churned users (crossed churn_days of inactivity: moved into the
    lifecycle stage churned) and returned users (churned, then active again). The
    practice's decline rule compares new_user_ratio with churn_rate, both over the base
    (docs/METRICS.md); growth accounting's period-over-period "churned" is a different,
    standard metric. From the daily transitions and stage counts, so the cost follows
    days x stages, not users. -#}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

flows as (
    select
        activity_date,
        sum(case when from_stage = 'none' then users else 0 end) as new_users,
        sum(case when to_stage = 'churned' and from_stage <> 'churned' then users else 0 end)
            as churned_users,
        sum(case when from_stage = 'churned' and to_stage <> 'churned' then users else 0 end)
            as returned_users
    from {{ ref('fct_lifecycle_transitions') }}
    group by activity_date
),

living as (
    select activity_date, sum(users) as users
    from {{ ref('fct_lifecycle_stage_counts') }}
    where breakdown = 'all' and lifecycle_stage <> 'churned'
    group by activity_date
),

periods as (
    {{ period_spine('(select min(activity_date) from flows)', '(select snapshot_date from snapshot)') }}
),

summed as (
    select
        p.grain,
        p.period_start,
        coalesce(sum(f.new_users), 0) as new_users,
        coalesce(sum(f.churned_users), 0) as churned_users,
        coalesce(sum(f.returned_users), 0) as returned_users
    from periods as p
    left join flows as f
        on f.activity_date >= p.period_start
        and f.activity_date < {{ shift_period('p.grain', 1, 'p.period_start') }}
    where p.grain in ('week', 'month')
    group by p.grain, p.period_start
),

based as (
    select
        s.*,
        coalesce(l.users, 0) as base_users
    from summed as s
    left join living as l on l.activity_date = {{ add_days('s.period_start', -1) }}
)

select
    grain,
    period_start,
    {{ shift_period('grain', 1, 'period_start') }} <= {{ add_days('(select snapshot_date from snapshot)', 1) }} as is_complete,
    cast(base_users as bigint) as base_users,
    cast(new_users as bigint) as new_users,
    cast(churned_users as bigint) as churned_users,
    cast(returned_users as bigint) as returned_users,
    cast(new_users + returned_users - churned_users as bigint) as net_change,
    case when base_users > 0 then cast(new_users as double) / base_users end as new_user_ratio,
    case when base_users > 0 then cast(churned_users as double) / base_users end as churn_rate,
    case when base_users > 0 then cast(returned_users as double) / base_users end as return_rate
from based
where period_start <= (select snapshot_date from snapshot)
