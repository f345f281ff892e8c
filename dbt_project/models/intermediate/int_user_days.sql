{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- The user-day fact: one row per user per day with any event or order.
    Marts that need history read this table, never raw events. -#}

with visits as (
    select
        user_id,
        activity_date,
        count(*) as visits,
        cast(sum(case when is_bounced then 1 else 0 end) as bigint) as bounced_visits,
        cast(sum(case when is_engaged then 1 else 0 end) as bigint) as engaged_visits,
        cast(sum(events) as bigint) as events,
        cast(sum(key_events) as bigint) as key_events,
        cast(sum(campaign_events) as bigint) as campaign_events,
        cast(sum(case when is_engaged_without_campaign then 1 else 0 end) as bigint) as engaged_visits_without_campaign,
        {#- each engaged visit by its heaviest key event's weight (engagement.weights; a
            visit built before weights existed weighs 1) -#}
        cast(sum(case when is_engaged then coalesce(engagement_weight, 1) else 0 end) as bigint)
            as weighted_engaged_visits,
        cast(sum(case when is_engaged_without_campaign
            then coalesce(engagement_weight_without_campaign, 1) else 0 end) as bigint)
            as weighted_engaged_visits_without_campaign,
        min(platform) as platform
    from {{ ref('int_sessions') }}
    where {{ in_run_window('activity_date') }}
    group by user_id, activity_date
),

orders as (
    select
        user_id,
        order_date as activity_date,
        count(*) as orders,
        cast(sum(case when is_paid then 1 else 0 end) as bigint) as paid_orders,
        sum(case when is_paid then amount else 0 end) as revenue
    from {{ ref('stg_app__orders') }}
    where {{ in_run_window('order_date') }}
    group by user_id, order_date
),

mode as (
    select {{ uses_events() }} as uses_events
),

joined as (
    select
        coalesce(v.user_id, o.user_id) as user_id,
        coalesce(v.activity_date, o.activity_date) as activity_date,
        v.platform,
        coalesce(v.visits, 0) as visits,
        coalesce(v.bounced_visits, 0) as bounced_visits,
        coalesce(v.engaged_visits, 0) as engaged_visits,
        coalesce(v.engaged_visits_without_campaign, 0) as engaged_visits_without_campaign,
        coalesce(v.weighted_engaged_visits, 0) as weighted_engaged_visits,
        coalesce(v.weighted_engaged_visits_without_campaign, 0) as weighted_engaged_visits_without_campaign,
        coalesce(v.events, 0) as events,
        coalesce(v.key_events, 0) as key_events,
        coalesce(v.campaign_events, 0) as campaign_events,
        coalesce(o.orders, 0) as orders,
        coalesce(o.paid_orders, 0) as paid_orders,
        coalesce(o.revenue, 0) as revenue
    from visits as v
    full outer join orders as o
        on v.user_id = o.user_id and v.activity_date = o.activity_date
)

{#- Engagement units: engaged visits, each by its weight (1 unless engagement.weights says
    otherwise); for orders-only data, purchase days. -#}
select
    joined.*,
    case when mode.uses_events then engaged_visits > 0 else paid_orders > 0 end as is_active,
    visits > 0 and bounced_visits = visits as is_bounced_only,
    case when mode.uses_events then weighted_engaged_visits
        when paid_orders > 0 then 1 else 0 end as engagement_units,
    case when mode.uses_events then weighted_engaged_visits_without_campaign
        when paid_orders > 0 then 1 else 0 end as engagement_units_without_campaign
from joined
cross join mode
