{{ config(tags=['scored']) }}

{#- Per configured segment and day of the trend window (segment_trend_start() to the
    snapshot day): how many of the segment's members as of the snapshot day were active
    that day and in the 7 days ending on it, and how many were new (first active) that
    day. The members' own history, as a tracker's chart segmented by a cohort shows it
    (docs/METRICS.md, "Segments"). -#}

with bounds as (
    select {{ segment_trend_start() }} as first_date, {{ snapshot_date() }} as snapshot_date
),

members as (
    select segment, user_id from {{ ref('dim_user_segments') }}
),

sizes as (
    select segment, count(*) as members from members group by segment
),

days as (
    {{ day_spine('(select first_date from bounds)', '(select snapshot_date from bounds)') }}
),

active as (
    select m.segment, d.user_id, d.activity_date
    from {{ ref('int_user_days') }} as d
    inner join members as m on m.user_id = d.user_id
    where d.is_active
        and d.activity_date >= (select {{ add_days('first_date', -6) }} from bounds)
        and d.activity_date <= (select snapshot_date from bounds)
),

{#- each member-day counts on the 7 days starting with it: members x window x 7 at most -#}
rolling as (
    select days.activity_date, a.segment, count(distinct a.user_id) as wau
    from days
    inner join active as a
        on a.activity_date <= days.activity_date
        and a.activity_date > {{ add_days('days.activity_date', -7) }}
    group by days.activity_date, a.segment
),

daily as (
    select activity_date, segment, count(distinct user_id) as dau
    from active
    group by activity_date, segment
),

new_members as (
    select c.first_active_date as activity_date, m.segment, count(*) as new_users
    from members as m
    inner join {{ ref('int_user_cohorts') }} as c on c.user_id = m.user_id
    where c.first_active_date >= (select first_date from bounds)
    group by c.first_active_date, m.segment
)

select
    (select snapshot_date from bounds) as snapshot_date,
    s.segment,
    days.activity_date,
    cast(s.members as bigint) as members,
    cast(coalesce(d.dau, 0) as bigint) as dau,
    cast(coalesce(r.wau, 0) as bigint) as wau,
    cast(coalesce(n.new_users, 0) as bigint) as new_users,
    cast(coalesce(d.dau, 0) as double) / s.members as dau_rate,
    cast(coalesce(r.wau, 0) as double) / s.members as wau_rate
from sizes as s
cross join days
left join daily as d on d.segment = s.segment and d.activity_date = days.activity_date
left join rolling as r on r.segment = s.segment and r.activity_date = days.activity_date
left join new_members as n on n.segment = s.segment and n.activity_date = days.activity_date
