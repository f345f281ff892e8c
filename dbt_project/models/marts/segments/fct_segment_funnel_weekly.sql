{{ config(tags=['scored']) }}

{#- Per configured segment, configured funnel, ISO week entered (in the trend window) and
    step: how many of the segment's members as of the snapshot day entered the funnel that
    week and reached the step within its window, in order (the rules of fct_funnel_weekly,
    from the same int_funnel_progress), and the conversions. -#}

with bounds as (
    select {{ segment_trend_start() }} as first_date
),

reached as (
    select m.segment, p.funnel, p.period_start as week_start, p.step_number,
        count(*) as users
    from {{ ref('int_funnel_progress') }} as p
    inner join {{ ref('dim_user_segments') }} as m on m.user_id = p.user_id
    where p.grain = 'week' and p.period_start >= (select first_date from bounds)
    group by m.segment, p.funnel, p.period_start, p.step_number
),

spine as (
    select r.segment, r.funnel, r.week_start, s.step_number, s.step
    from reached as r
    inner join ({{ funnel_steps_rows() }}) as s on s.funnel = r.funnel
    where r.step_number = 1
),

counted as (
    select s.segment, s.funnel, s.week_start, s.step_number, s.step,
        cast(coalesce(r.users, 0) as bigint) as users
    from spine as s
    left join reached as r
        on r.segment = s.segment and r.funnel = s.funnel and r.week_start = s.week_start
        and r.step_number = s.step_number
)

select
    {{ snapshot_date() }} as snapshot_date,
    segment,
    funnel,
    week_start,
    step_number,
    step,
    users,
    case when step_number > 1 then cast(users as double) / nullif(lag(users) over (
        partition by segment, funnel, week_start order by step_number), 0)
    end as conversion_from_previous,
    cast(users as double) / nullif(first_value(users) over (
        partition by segment, funnel, week_start order by step_number), 0)
        as conversion_from_first
from counted
