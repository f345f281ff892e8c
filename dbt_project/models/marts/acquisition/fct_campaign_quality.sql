{#- Per campaign (campaign_id on the events), as of the snapshot day: reach, visits,
    bounce rate, engaged visits, key events, the orders and revenue from campaign visits,
    and the share of the reached users still active 7 and 30 days later. A visit belongs
    to a campaign when one of its events carries the campaign_id (the first id by name if
    several). An order is from a campaign visit when its user placed it on the same day at
    or after the start of a campaign visit (the latest such visit's campaign). "Active N
    days later": active on a day from N-6 to N days after the user's first visit of the
    campaign (in the WAU of day +N); the share counts only the users whose day +N has
    elapsed, null when none has. Costs (campaign_costs, optional): spend to the snapshot
    day, per reached user, per user with an engaged campaign visit, and ROI (revenue -
    spend) / spend. Baseline: users not reached, active in the 28 days before the
    campaign's first day, compared with the reached users in strata of prior activity
    (active days in the 28 days before the anchor: 1-3, 4-11, 12+; the reached users'
    anchor is their first campaign visit, the others' the campaign's first day): each
    group's share active from day +24 to +30 after its anchor, the baseline weighted to
    the reached users' strata, over the strata both groups have. A comparison, not an
    experiment: who a campaign reaches is not random (docs/METRICS.md). -#}

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
),

anchors as (
    select r.campaign_id, r.user_id, r.first_visit_date as anchor_date, true as is_reached
    from reached as r
    union all
    select c.campaign_id, u.user_id, c.first_date as anchor_date, false as is_reached
    from per_campaign as c
    cross join {{ ref('stg_app__users') }} as u
    where u.signup_date < c.first_date
        and not exists (select 1 from reached as r
                        where r.campaign_id = c.campaign_id and r.user_id = u.user_id)
),

anchored as (
    select
        a.campaign_id,
        a.user_id,
        a.is_reached,
        {{ add_days('a.anchor_date', 30) }} <= (select snapshot_date from snapshot) as elapsed_30d,
        sum(case when d.activity_date < a.anchor_date then 1 else 0 end) as prior_days,
        max(case when d.activity_date between {{ add_days('a.anchor_date', 24) }}
            and {{ add_days('a.anchor_date', 30) }} then 1 else 0 end) as active_30d
    from anchors as a
    inner join {{ ref('int_user_days') }} as d
        on d.user_id = a.user_id and d.is_active
        and d.activity_date between {{ add_days('a.anchor_date', -28) }}
            and {{ add_days('a.anchor_date', 30) }}
        and d.activity_date <= (select snapshot_date from snapshot)
    group by a.campaign_id, a.user_id, a.is_reached, a.anchor_date
),

strata as (
    select
        campaign_id,
        case when prior_days >= 12 then '12+' when prior_days >= 4 then '4-11' else '1-3' end
            as stratum,
        cast(sum(case when is_reached then 1 else 0 end) as bigint) as reached_users,
        cast(sum(case when is_reached then active_30d else 0 end) as bigint) as reached_active,
        cast(sum(case when is_reached then 0 else 1 end) as bigint) as baseline_users,
        cast(sum(case when is_reached then 0 else active_30d end) as bigint) as baseline_active
    from anchored
    where elapsed_30d and prior_days > 0
    group by 1, 2
),

baseline as (
    select
        campaign_id,
        cast(sum(reached_users) as bigint) as compared_users,
        cast(sum(baseline_users) as bigint) as baseline_users,
        sum(cast(reached_active as double)) / sum(reached_users) as compared_active_30d_share,
        sum(reached_users * cast(baseline_active as double) / baseline_users)
            / sum(reached_users) as baseline_active_30d_share
    from strata
    where reached_users > 0 and baseline_users > 0
    group by campaign_id
),

costs as (
    select campaign_id, sum(spend) as spend
    from {{ ref('stg_app__campaign_costs') }}
    where cost_date <= (select snapshot_date from snapshot)
    group by campaign_id
),

engaged_users as (
    select campaign_id, count(distinct user_id) as engaged_users
    from visits
    where is_engaged
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
        then cast(r.users_active_30d as double) / r.users_30d_elapsed end as active_30d_later_share,
    coalesce(e.engaged_users, 0) as engaged_users,
    k.spend,
    k.spend / c.reach_users as cost_per_reached_user,
    case when e.engaged_users > 0 then k.spend / e.engaged_users end as cost_per_engaged_user,
    case when k.spend > 0 then (coalesce(o.revenue, 0) - k.spend) / k.spend end as roi,
    b.compared_users,
    b.baseline_users,
    b.compared_active_30d_share,
    b.baseline_active_30d_share,
    b.compared_active_30d_share - b.baseline_active_30d_share as active_30d_lift_vs_baseline
from per_campaign as c
left join campaign_orders as o on c.campaign_id = o.campaign_id
left join retention as r on c.campaign_id = r.campaign_id
left join engaged_users as e on c.campaign_id = e.campaign_id
left join costs as k on c.campaign_id = k.campaign_id
left join baseline as b on c.campaign_id = b.campaign_id
