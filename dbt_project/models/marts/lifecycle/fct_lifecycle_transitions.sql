{#- Per day: users moving from one stage (yesterday) to another (today).
    from_stage 'none' marks a user's first active day; rows with from_stage =
    to_stage are users who stayed, so each day's rows sum to its users.
    From the spans: a span starting on a day moves its user from previous_stage;
    every other user of a stage that day stayed in it. -#}

with spans as (
    select * from {{ ref('fct_user_lifecycle_spans') }}
),

starts as (
    select
        valid_from as activity_date,
        coalesce(previous_stage, 'none') as from_stage,
        lifecycle_stage as to_stage,
        count(*) as users
    from spans
    group by valid_from, coalesce(previous_stage, 'none'), lifecycle_stage
),

started as (
    select activity_date, to_stage, sum(users) as users
    from starts
    group by activity_date, to_stage
),

stayed as (
    select
        c.activity_date,
        c.lifecycle_stage as from_stage,
        c.lifecycle_stage as to_stage,
        c.users - coalesce(s.users, 0) as users
    from {{ ref('fct_lifecycle_stage_counts') }} as c
    left join started as s
        on s.activity_date = c.activity_date and s.to_stage = c.lifecycle_stage
    where c.breakdown = 'all'
),

moved as (
    select activity_date, from_stage, to_stage, users from starts
    union all
    select activity_date, from_stage, to_stage, users from stayed where users > 0
)

select
    activity_date,
    from_stage,
    to_stage,
    from_stage <> to_stage as is_change,
    cast(sum(users) as bigint) as users
from moved
group by activity_date, from_stage, to_stage
