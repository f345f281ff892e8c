{#- Visitors and their conversion to users, per day (docs/METRICS.md, "Events, ids and
    visitors"): visitors (distinct people with any event: users, their linked anonymous
    ids counted as them, and anonymous ids linked to no user), of whom identified and
    anonymous; new visitors (first visit that day, not signed up before it) and how many
    signed up within funnel.signup_days of it, that day included, with the rate once the
    window has elapsed; signups that day, how many had visited first, and the median days
    from first visit to signup. Every day from the first visit or signup through the
    snapshot day. Rebuilt whole each run: a link landed today re-attributes any day. -#}

{%- set n = var('funnel_signup_days') | int %}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

days as (
    {{ resolved_visitor_days() }}
),

daily as (
    select
        activity_date,
        count(distinct visitor_id) as visitors,
        count(distinct user_id) as identified_visitors
    from days
    group by activity_date
),

visitors as (
    select * from {{ ref('int_visitors') }}
),

arrivals as (
    select
        first_visit_date as activity_date,
        count(*) as new_visitors,
        sum(case when signup_date <= {{ add_days('first_visit_date', n - 1) }} then 1 else 0 end)
            as new_visitors_signed_up
    from visitors
    where first_visit_date is not null
        and (signup_date is null or signup_date >= first_visit_date)
    group by first_visit_date
),

signups as (
    select
        signup_date as activity_date,
        count(*) as signups,
        sum(case when first_visit_date < signup_date then 1 else 0 end) as signups_after_visit,
        {{ median('days_to_signup') }} as median_days_to_signup
    from visitors
    where signup_date is not null
    group by signup_date
),

spine as (
    {{ day_spine(
        '(select min(coalesce(least(first_visit_date, signup_date), first_visit_date, signup_date)) from visitors)',
        '(select snapshot_date from snapshot)') }}
)

select
    s.activity_date,
    cast(coalesce(d.visitors, 0) as bigint) as visitors,
    cast(coalesce(d.identified_visitors, 0) as bigint) as identified_visitors,
    cast(coalesce(d.visitors, 0) - coalesce(d.identified_visitors, 0) as bigint) as anonymous_visitors,
    cast(coalesce(a.new_visitors, 0) as bigint) as new_visitors,
    cast(coalesce(a.new_visitors_signed_up, 0) as bigint) as new_visitors_signed_up,
    case when {{ add_days('s.activity_date', n - 1) }} <= (select snapshot_date from snapshot)
            and a.new_visitors > 0
        then cast(a.new_visitors_signed_up as double) / a.new_visitors end as signup_conversion,
    cast(coalesce(g.signups, 0) as bigint) as signups,
    cast(coalesce(g.signups_after_visit, 0) as bigint) as signups_after_visit,
    g.median_days_to_signup
from spine as s
left join daily as d on s.activity_date = d.activity_date
left join arrivals as a on s.activity_date = a.activity_date
left join signups as g on s.activity_date = g.activity_date
