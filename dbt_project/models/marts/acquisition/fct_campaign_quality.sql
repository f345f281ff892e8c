{#- Per campaign (campaign_id on the events), as of the snapshot day: reach, visits,
    bounce rate, engaged visits, key events, the orders and revenue from campaign visits,
    and the share of the reached users still active 7 and 30 days later. A visit belongs
    to a campaign when one of its events carries the campaign_id (the first id by name if
    several). An order is from a campaign visit when its user placed it on the same day at
    or after the start of a campaign visit (the latest such visit's campaign). "Active N
    days later": active on a day from N-6 to N days after the user's first visit of the
    campaign (in the WAU of day +N); the share counts only the users whose day +N has
    elapsed, null when none has. -#}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

visits as (
    select user_id, activity_date, visit_id, started_at, campaign_id, is_bounced, is_engaged, key_events
    from {{ ref('int_sessions') }}
    where campaign_id is not null and activity_date <= (select snapshot_date from snapshot)
),

orders as (
    select o.order_id, o.user_id, o.amount, o.is_paid, v.campaign_id,
        row_number() over (partition by o.order_id order by v.started_at desc, v.campaign_id) as pick
    from {{ ref('stg_app__orders') }} as o
    inner join visits as v
        on o.user_id = v.user_id and o.order_date = v.activity_date and o.order_at >= v.started_at
),

campaign_orders as (
    select
        campaign_id,
        count(*) as orders,
        cast(sum(case when is_paid then 1 else 0 end) as bigint) as paid_orders,
        sum(case when is_paid then amount else 0 end) as revenue
    from orders
    where pick = 1
    group by campaign_id
),

reached as (
    select campaign_id, user_id, min(activity_date) as first_visit_date
    from visits
    group by campaign_id, user_id
),

later as (
    select
        r.campaign_id,
        r.user_id,
        {{ add_days('r.first_visit_date', 7) }} <= (select snapshot_date from snapshot) as elapsed_7d,
        {{ add_days('r.first_visit_date', 30) }} <= (select snapshot_date from snapshot) as elapsed_30d,
        max(case when d.activity_date between {{ add_days('r.first_visit_date', 1) }}
            and {{ add_days('r.first_visit_date', 7) }} then 1 else 0 end) as active_7d,
        max(case when d.activity_date between {{ add_days('r.first_visit_date', 24) }}
            and {{ add_days('r.first_visit_date', 30) }} then 1 else 0 end) as active_30d
    from reached as r
    left join {{ ref('int_user_days') }} as d
        on d.user_id = r.user_id and d.is_active
        and d.activity_date between {{ add_days('r.first_visit_date', 1) }}
            and {{ add_days('r.first_visit_date', 30) }}
        and d.activity_date <= (select snapshot_date from snapshot)
    group by r.campaign_id, r.user_id, r.first_visit_date
),

retention as (
    select
        campaign_id,
        cast(sum(case when elapsed_7d then 1 else 0 end) as bigint) as users_7d_elapsed,
        cast(sum(case when elapsed_7d then active_7d else 0 end) as bigint) as users_active_7d,
        cast(sum(case when elapsed_30d then 1 else 0 end) as bigint) as users_30d_elapsed,
        cast(sum(case when elapsed_30d then active_30d else 0 end) as bigint) as users_active_30d
    from later
    group by campaign_id
),

per_campaign as (
    select
        campaign_id,
        min(activity_date) as first_date,
        max(activity_date) as last_date,
        count(distinct user_id) as reach_users,
        count(*) as visits,
        cast(sum(case when is_bounced then 1 else 0 end) as bigint) as bounced_visits,
        cast(sum(case when is_engaged then 1 else 0 end) as bigint) as engaged_visits,
        cast(sum(key_events) as bigint) as key_events
    from visits
    group by campaign_id
)

select
    (select snapshot_date from snapshot) as snapshot_date,
    c.campaign_id,
    c.first_date,
    c.last_date,
    c.reach_users,
    c.visits,
    c.bounced_visits,
    cast(c.bounced_visits as double) / c.visits as bounce_rate,
    c.engaged_visits,
    c.key_events,
    coalesce(o.orders, 0) as orders,
    coalesce(o.paid_orders, 0) as paid_orders,
    coalesce(o.revenue, 0) as revenue,
    r.users_7d_elapsed,
    case when r.users_7d_elapsed > 0
        then cast(r.users_active_7d as double) / r.users_7d_elapsed end as active_7d_later_share,
    r.users_30d_elapsed,
    case when r.users_30d_elapsed > 0
        then cast(r.users_active_30d as double) / r.users_30d_elapsed end as active_30d_later_share
from per_campaign as c
left join campaign_orders as o on c.campaign_id = o.campaign_id
left join retention as r on c.campaign_id = r.campaign_id
