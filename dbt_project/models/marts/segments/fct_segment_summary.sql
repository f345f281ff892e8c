{{ config(tags=['scored']) }}

{#- One row per configured segment, and 'all' for every known user, as of the snapshot
    day: how the groups compare (docs/METRICS.md, "Segments"). -#}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

members as (
    select segment, user_id from {{ ref('dim_user_segments') }}
    union all
    select 'all', user_id from {{ ref('dim_users') }}
),

profiled as (
    select
        m.segment,
        u.user_id,
        u.last_active_date,
        u.lifetime_paid_orders,
        u.lifetime_revenue,
        u.engagement_index,
        u.risk_band
    from members as m
    inner join {{ ref('dim_users') }} as u on u.user_id = m.user_id
),

everyone as (
    select count(*) as users from {{ ref('dim_users') }}
)

select
    (select snapshot_date from snapshot) as snapshot_date,
    p.segment,
    cast(count(*) as bigint) as users,
    cast(count(*) as double) / nullif(max(a.users), 0) as share_of_users,
    cast(sum(case when p.last_active_date > {{ add_days('(select snapshot_date from snapshot)', -7) }}
        then 1 else 0 end) as bigint) as active_7d_users,
    cast(sum(case when p.last_active_date > {{ add_days('(select snapshot_date from snapshot)', -28) }}
        then 1 else 0 end) as bigint) as active_28d_users,
    cast(sum(case when p.last_active_date > {{ add_days('(select snapshot_date from snapshot)', -28) }}
        then 1 else 0 end) as double) / count(*) as active_28d_rate,
    cast(sum(case when p.lifetime_paid_orders > 0 then 1 else 0 end) as bigint) as paying_users,
    cast(sum(case when p.lifetime_paid_orders > 0 then 1 else 0 end) as double) / count(*)
        as paying_rate,
    sum(p.lifetime_revenue) as lifetime_revenue,
    sum(p.lifetime_revenue) / count(*) as revenue_per_user,
    avg(coalesce(p.engagement_index, 0)) as avg_engagement_index,
    cast(sum(case when p.risk_band = 'high' then 1 else 0 end) as double) / count(*)
        as high_risk_share
from profiled as p
cross join everyone as a
group by p.segment
