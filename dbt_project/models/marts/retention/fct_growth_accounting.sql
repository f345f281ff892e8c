{#- Growth accounting per grain and period (docs/METRICS.md): every user active in t
    or t-1 is exactly one of new, retained, resurrected, churned. The revenue
    variant does the same for paying users and their paid revenue, adding
    expansion and contraction. As of the snapshot day; the last period of a
    grain may be incomplete (is_complete = false). -#}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

user_periods as (
    select * from {{ ref('int_user_periods') }}
),

firsts as (
    select
        user_id,
        grain,
        min(case when is_active then period_start end) as first_active_period,
        min(case when revenue > 0 then period_start end) as first_paid_period
    from user_periods
    group by user_id, grain
),

{#- Each user's period paired with their previous period (full outer join:
    a user active only in t-1 appears once, in period t, as churned). -#}
pairs as (
    select
        coalesce(cur.user_id, prev.user_id) as user_id,
        coalesce(cur.grain, prev.grain) as grain,
        coalesce(cur.period_start, {{ shift_period('prev.grain', 1, 'prev.period_start') }}) as period_start,
        coalesce(cur.is_active, false) as active_now,
        coalesce(prev.is_active, false) as active_prev,
        coalesce(cur.revenue, 0) as revenue_now,
        coalesce(prev.revenue, 0) as revenue_prev
    from user_periods as cur
    full outer join user_periods as prev
        on cur.user_id = prev.user_id
        and cur.grain = prev.grain
        and prev.period_start = {{ shift_period('cur.grain', -1, 'cur.period_start') }}
),

classified as (
    select
        p.*,
        p.active_now and f.first_active_period = p.period_start as is_new,
        p.active_now and p.active_prev as is_retained,
        p.active_now and not p.active_prev and f.first_active_period < p.period_start as is_resurrected,
        p.active_prev and not p.active_now as is_churned,
        p.revenue_now > 0 and f.first_paid_period = p.period_start as is_new_payer,
        p.revenue_now > 0 and p.revenue_prev > 0 as is_retained_payer,
        p.revenue_now > 0 and p.revenue_prev <= 0 and f.first_paid_period < p.period_start as is_resurrected_payer,
        p.revenue_prev > 0 and p.revenue_now <= 0 as is_churned_payer
    from pairs as p
    inner join firsts as f on p.user_id = f.user_id and p.grain = f.grain
),

counts as (
    select
        grain,
        period_start,
        count(case when active_now then 1 end) as active_users,
        count(case when active_prev then 1 end) as active_users_previous,
        count(case when is_new then 1 end) as new_users,
        count(case when is_retained then 1 end) as retained_users,
        count(case when is_resurrected then 1 end) as resurrected_users,
        count(case when is_churned then 1 end) as churned_users,
        sum(revenue_now) as revenue,
        sum(revenue_prev) as revenue_previous,
        sum(case when is_new_payer then revenue_now else 0 end) as new_revenue,
        sum(case when is_retained_payer then least(revenue_now, revenue_prev) else 0 end) as retained_revenue,
        sum(case when is_retained_payer then greatest(revenue_now - revenue_prev, 0) else 0 end) as expansion_revenue,
        sum(case when is_retained_payer then greatest(revenue_prev - revenue_now, 0) else 0 end) as contraction_revenue,
        sum(case when is_resurrected_payer then revenue_now else 0 end) as resurrected_revenue,
        sum(case when is_churned_payer then revenue_prev else 0 end) as churned_revenue
    from classified
    group by grain, period_start
),

periods as (
    {{ period_spine("(select min(activity_date) from " ~ ref('int_user_days') ~ ")", '(select snapshot_date from snapshot)') }}
)

select
    p.grain,
    p.period_start,
    {{ shift_period('p.grain', 1, 'p.period_start') }} <= {{ add_days('(select snapshot_date from snapshot)', 1) }} as is_complete,
    coalesce(c.active_users, 0) as active_users,
    coalesce(c.active_users_previous, 0) as active_users_previous,
    coalesce(c.new_users, 0) as new_users,
    coalesce(c.retained_users, 0) as retained_users,
    coalesce(c.resurrected_users, 0) as resurrected_users,
    coalesce(c.churned_users, 0) as churned_users,
    case when c.churned_users > 0
        then cast(c.new_users + c.resurrected_users as double) / c.churned_users end as quick_ratio,
    case when c.active_users > 0 then cast(c.new_users as double) / c.active_users end as new_user_ratio,
    case when c.active_users_previous > 0
        then cast(c.churned_users as double) / c.active_users_previous end as churn_rate,
    case when c.active_users > 0
        then cast(c.resurrected_users as double) / c.active_users end as resurrection_rate,
    coalesce(c.new_users + c.resurrected_users - c.churned_users, 0) as net_growth,
    coalesce(c.revenue, 0) as revenue,
    coalesce(c.revenue_previous, 0) as revenue_previous,
    coalesce(c.new_revenue, 0) as new_revenue,
    coalesce(c.retained_revenue, 0) as retained_revenue,
    coalesce(c.expansion_revenue, 0) as expansion_revenue,
    coalesce(c.contraction_revenue, 0) as contraction_revenue,
    coalesce(c.resurrected_revenue, 0) as resurrected_revenue,
    coalesce(c.churned_revenue, 0) as churned_revenue,
    case when c.churned_revenue + c.contraction_revenue > 0
        then (c.new_revenue + c.resurrected_revenue + c.expansion_revenue)
            / (c.churned_revenue + c.contraction_revenue) end as revenue_quick_ratio
from periods as p
left join counts as c on p.grain = c.grain and p.period_start = c.period_start
where p.period_start <= (select snapshot_date from snapshot)
