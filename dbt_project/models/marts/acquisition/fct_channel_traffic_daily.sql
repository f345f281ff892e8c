{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_from_rebuild_day('activity_date', 6) }}",
    )
}}

{#- Traffic quality per acquisition channel (the user's, 'unknown' without a signup
    record) and day: visits, page views (events named page_view_event), unique visitors,
    bounce rate, pages per visit, median visit length; and of the day's new users (cohort
    day) the share who were pseudo-active only in their first week: they visited on days
    0-6 but every visit bounced. That share is null until day 6 has elapsed, so the model
    rebuilds from 6 days before the run window (rebuild_from). -#}

with bounds as (
    select {{ rebuild_from(6) }} as lower_date, {{ snapshot_date() }} as upper_date
),

channels as (
    select user_id, coalesce(channel, 'unknown') as channel, cohort_date
    from {{ ref('int_user_cohorts') }}
),

visits as (
    select s.activity_date, s.user_id, s.duration_s, s.is_bounced, coalesce(s.page_views, 0) as page_views
    from {{ ref('int_sessions') }} as s
    where s.activity_date between (select lower_date from bounds) and (select upper_date from bounds)
),

traffic as (
    select
        v.activity_date,
        coalesce(c.channel, 'unknown') as channel,
        count(*) as visits,
        cast(sum(v.page_views) as bigint) as page_views,
        count(distinct v.user_id) as unique_visitors,
        cast(sum(case when v.is_bounced then 1 else 0 end) as bigint) as bounced_visits,
        {{ median('v.duration_s') }} as median_visit_seconds
    from visits as v
    left join channels as c on v.user_id = c.user_id
    group by v.activity_date, coalesce(c.channel, 'unknown')
),

first_week as (
    select
        c.cohort_date as activity_date,
        c.channel,
        c.user_id,
        count(s.user_id) as visits,
        sum(case when s.is_bounced then 0 when s.user_id is not null then 1 else 0 end) as kept_visits
    from channels as c
    left join {{ ref('int_sessions') }} as s
        on s.user_id = c.user_id
        and s.activity_date between c.cohort_date and {{ add_days('c.cohort_date', 6) }}
        and s.activity_date <= (select upper_date from bounds)
    where c.cohort_date between (select lower_date from bounds) and (select upper_date from bounds)
    group by c.cohort_date, c.channel, c.user_id
),

newcomers as (
    select
        activity_date,
        channel,
        count(*) as new_users,
        cast(sum(case when visits > 0 and kept_visits = 0 then 1 else 0 end) as bigint) as pseudo_active_only_users
    from first_week
    group by activity_date, channel
)

select
    coalesce(t.activity_date, n.activity_date) as activity_date,
    coalesce(t.channel, n.channel) as channel,
    coalesce(t.visits, 0) as visits,
    coalesce(t.page_views, 0) as page_views,
    coalesce(t.unique_visitors, 0) as unique_visitors,
    coalesce(t.bounced_visits, 0) as bounced_visits,
    case when t.visits > 0 then cast(t.bounced_visits as double) / t.visits end as bounce_rate,
    case when t.visits > 0 then cast(t.page_views as double) / t.visits end as pages_per_visit,
    t.median_visit_seconds,
    coalesce(n.new_users, 0) as new_users,
    case when {{ add_days('coalesce(t.activity_date, n.activity_date)', 6) }} <= (select upper_date from bounds)
        then n.pseudo_active_only_users end as pseudo_active_only_users,
    case when {{ add_days('coalesce(t.activity_date, n.activity_date)', 6) }} <= (select upper_date from bounds)
            and n.new_users > 0
        then cast(n.pseudo_active_only_users as double) / n.new_users end as pseudo_active_only_share
from traffic as t
full outer join newcomers as n on t.activity_date = n.activity_date and t.channel = n.channel
