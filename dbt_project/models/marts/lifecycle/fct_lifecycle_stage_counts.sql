{#- Per day, breakdown and stage: users. Overall (breakdown 'all'), by acquisition
    channel and first platform (as the retention cohorts) and by each configured
    attribute (breakdowns.attributes). The stages of a day sum to the users seen (first
    active) by that day, in each breakdown value. Counted from the spans, not the daily
    series: a span adds one to its stage on valid_from and takes it away the day after
    valid_to, so the cost follows spans x breakdowns, not users x days. -#}

-- depends_on: {{ ref('int_user_attributes') }}
with spans as (
    select user_id, valid_from, valid_to, lifecycle_stage
    from {{ ref('fct_user_lifecycle_spans') }}
),

labelled as (
    select s.*, 'all' as breakdown, 'all' as breakdown_value
    from spans as s
    union all
    select s.*, 'channel', coalesce(c.channel, 'unknown')
    from spans as s
    left join {{ ref('int_user_cohorts') }} as c on s.user_id = c.user_id
    union all
    select s.*, 'platform', coalesce(c.platform, 'unknown')
    from spans as s
    left join {{ ref('int_user_cohorts') }} as c on s.user_id = c.user_id
    {{ attribute_breakdown_rows('spans', 'x.*') }}
),

moves as (
    select valid_from as activity_date, breakdown, breakdown_value, lifecycle_stage, 1 as change
    from labelled
    union all
    select {{ add_days('valid_to', 1) }}, breakdown, breakdown_value, lifecycle_stage, -1
    from labelled
),

net as (
    select activity_date, breakdown, breakdown_value, lifecycle_stage, sum(change) as change
    from moves
    group by activity_date, breakdown, breakdown_value, lifecycle_stage
),

days as (
    {{ day_spine('(select min(valid_from) from spans)', '(select max(valid_to) from spans)') }}
),

cells as (
    select distinct breakdown, breakdown_value, lifecycle_stage from labelled
),

running as (
    select
        days.activity_date,
        cells.breakdown,
        cells.breakdown_value,
        cells.lifecycle_stage,
        sum(coalesce(net.change, 0)) over (
            partition by cells.breakdown, cells.breakdown_value, cells.lifecycle_stage
            order by days.activity_date rows between unbounded preceding and current row
        ) as users
    from days
    cross join cells
    left join net
        on net.activity_date = days.activity_date and net.breakdown = cells.breakdown
        and net.breakdown_value = cells.breakdown_value
        and net.lifecycle_stage = cells.lifecycle_stage
)

select activity_date, breakdown, breakdown_value, lifecycle_stage, cast(users as bigint) as users
from running
where users > 0
