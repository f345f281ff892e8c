{#- Snapshot as of the latest day the daily tables hold: every user known by then, with the
    engagement index over the trailing window and the tier ('none' when the
    window holds nothing). -#}

with bounds as (
    select {{ snapshot_date() }} as snapshot_date
),

known_users as (
    select user_id from {{ ref('stg_app__users') }}
    where signup_date <= (select snapshot_date from bounds)
    union
    select user_id from {{ ref('int_user_days') }}
    where activity_date <= (select snapshot_date from bounds)
),

activity as (
    select
        user_id,
        min(case when is_active then activity_date end) as first_active_date,
        max(case when is_active then activity_date end) as last_active_date
    from {{ ref('int_user_days') }}
    where activity_date <= (select snapshot_date from bounds)
    group by user_id
),

latest as (
    select user_id, engagement_index
    from {{ ref('fct_user_engagement_daily') }}
    where activity_date = (select snapshot_date from bounds)
)

select
    k.user_id,
    (select snapshot_date from bounds) as snapshot_date,
    coalesce(l.engagement_index, 0) as engagement_index,
    {{ activity_tier('coalesce(l.engagement_index, 0)') }} as activity_tier,
    a.first_active_date,
    a.last_active_date
from known_users as k
left join latest as l on k.user_id = l.user_id
left join activity as a on k.user_id = a.user_id
