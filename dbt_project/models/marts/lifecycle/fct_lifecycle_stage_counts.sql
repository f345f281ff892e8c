{#- Per day and stage: users. The stages of a day sum to the users seen (first
    active) by that day. Counted from the spans, not the daily series: a span adds
    one to its stage on valid_from and takes it away the day after valid_to, so the
    cost follows spans, not users x days. -#}

with spans as (
    select * from {{ ref('fct_user_lifecycle_spans') }}
),

moves as (
    select valid_from as activity_date, lifecycle_stage, 1 as change
    from spans
    union all
    select {{ add_days('valid_to', 1) }} as activity_date, lifecycle_stage, -1 as change
    from spans
),

net as (
    select activity_date, lifecycle_stage, sum(change) as change
    from moves
    group by activity_date, lifecycle_stage
),

days as (
    {{ day_spine('(select min(valid_from) from spans)', '(select max(valid_to) from spans)') }}
),

stages as (
    select distinct lifecycle_stage from spans
),

running as (
    select
        days.activity_date,
        stages.lifecycle_stage,
        sum(coalesce(net.change, 0)) over (partition by stages.lifecycle_stage
            order by days.activity_date rows between unbounded preceding and current row) as users
    from days
    cross join stages
    left join net
        on net.activity_date = days.activity_date and net.lifecycle_stage = stages.lifecycle_stage
)

select activity_date, lifecycle_stage, cast(users as bigint) as users
from running
where users > 0
