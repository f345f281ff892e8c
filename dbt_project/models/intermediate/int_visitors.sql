{#- One row per visitor as of the snapshot day (docs/METRICS.md, "Events, ids and
    visitors"): a user (visitor_id = user_id, their linked anonymous ids included) or an
    anonymous id linked to no user (visitor_id = 'anonymous:' || anonymous_id). First
    visit day; signup day (the users row's, else the first day an event carried the user
    id); days from the first visit to signup when the visit came first or on the day;
    acquisition channel and signup method (the users row's attribute signup_method) when
    landed. Users who signed up without any event are visitors with no visit. -#}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

days as (
    {{ resolved_visitor_days() }}
),

seen as (
    select
        visitor_id,
        max(user_id) as user_id,
        min(activity_date) as first_visit_date,
        min(case when own_user_id is not null then activity_date end) as first_identified_date
    from days
    group by visitor_id
),

users as (
    select
        user_id,
        signup_date,
        channel,
        coalesce(nullif(trim({{ json_string('attributes', 'signup_method') }}), ''), 'unknown') as signup_method
    from {{ ref('stg_app__users') }}
    where signup_date <= (select snapshot_date from snapshot)
),

visitors as (
    select
        coalesce(s.visitor_id, u.user_id) as visitor_id,
        coalesce(s.user_id, u.user_id) as user_id,
        s.first_visit_date,
        coalesce(u.signup_date, s.first_identified_date) as signup_date,
        coalesce(u.channel, case when coalesce(s.user_id, u.user_id) is not null then 'unknown' end) as channel,
        case when coalesce(s.user_id, u.user_id) is not null then coalesce(u.signup_method, 'unknown') end
            as signup_method
    from seen as s
    full outer join users as u on s.visitor_id = u.user_id
)

select
    visitor_id,
    user_id,
    first_visit_date,
    signup_date,
    case when first_visit_date <= signup_date
        then cast({{ dbt.datediff('first_visit_date', 'signup_date', 'day') }} as bigint) end
        as days_to_signup,
    channel,
    signup_method
from visitors
