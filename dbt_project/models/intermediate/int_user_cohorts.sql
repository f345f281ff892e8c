{#- One row per user known on the snapshot day: the cohort day (signup day; a
    user without a signup record: first active day), acquisition channel, the
    platform of the first visit, first active day. -#}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

first_active as (
    select user_id, min(activity_date) as first_active_date
    from {{ ref('int_user_days') }}
    where is_active and activity_date <= (select snapshot_date from snapshot)
    group by user_id
),

first_platform as (
    select user_id, min(platform) as platform
    from (
        select
            user_id,
            platform,
            rank() over (partition by user_id order by activity_date) as visit_rank
        from {{ ref('int_user_platform_days') }}
        where activity_date <= (select snapshot_date from snapshot)
    ) as ranked
    where visit_rank = 1
    group by user_id
),

signed_up as (
    select user_id, signup_date, channel, referrer_user_id
    from {{ ref('stg_app__users') }}
    where signup_date <= (select snapshot_date from snapshot)
),

known as (
    select user_id from signed_up
    union
    select user_id from first_active
)

select
    k.user_id,
    coalesce(s.signup_date, f.first_active_date) as cohort_date,
    s.signup_date,
    f.first_active_date,
    coalesce(s.channel, 'unknown') as channel,
    coalesce(p.platform, 'unknown') as platform,
    s.referrer_user_id
from known as k
left join signed_up as s on k.user_id = s.user_id
left join first_active as f on k.user_id = f.user_id
left join first_platform as p on k.user_id = p.user_id
