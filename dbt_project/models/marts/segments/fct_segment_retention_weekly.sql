{{ config(tags=['scored']) }}

{#- Weekly retention of each configured segment's members (as of the snapshot day) whose
    cohort week (signup day's ISO week, else the first active day's, as
    fct_retention_cohorts) lies in the trend window: per cohort week and week number N,
    the cohort's size and the members active in week N ("on"). A week not fully elapsed on
    the snapshot day is null, as in fct_retention_cohorts. -#}

with bounds as (
    select {{ segment_trend_start() }} as first_date, {{ snapshot_date() }} as snapshot_date
),

cohorts as (
    select m.segment, m.user_id, {{ period_start('week', 'c.cohort_date') }} as cohort_week
    from {{ ref('dim_user_segments') }} as m
    inner join {{ ref('int_user_cohorts') }} as c on c.user_id = m.user_id
    where c.cohort_date >= (select first_date from bounds)
        and c.cohort_date <= (select snapshot_date from bounds)
),

sizes as (
    select segment, cohort_week, count(*) as cohort_size
    from cohorts
    group by segment, cohort_week
),

weeks as (
    select distinct {{ period_start('week', 'activity_date') }} as week_start
    from ({{ day_spine('(select first_date from bounds)', '(select snapshot_date from bounds)') }}) as d
),

cells as (
    select
        s.segment,
        s.cohort_week,
        s.cohort_size,
        w.week_start,
        cast({{ dbt.datediff('s.cohort_week', 'w.week_start', 'day') }} / 7 as integer) as week_number,
        {{ add_days('w.week_start', 6) }} <= (select snapshot_date from bounds) as is_observable
    from sizes as s
    inner join weeks as w on w.week_start >= s.cohort_week
),

retained as (
    select c.segment, c.cohort_week, p.period_start as week_start, count(*) as retained_on
    from cohorts as c
    inner join {{ ref('int_user_periods') }} as p
        on p.user_id = c.user_id and p.grain = 'week' and p.is_active
        and p.period_start >= c.cohort_week
        and p.period_start <= (select snapshot_date from bounds)
    group by c.segment, c.cohort_week, p.period_start
)

select
    (select snapshot_date from bounds) as snapshot_date,
    c.segment,
    c.cohort_week,
    c.week_number,
    cast(c.cohort_size as bigint) as cohort_size,
    c.is_observable,
    case when c.is_observable then cast(coalesce(r.retained_on, 0) as bigint) end as retained_on,
    case when c.is_observable then cast(coalesce(r.retained_on, 0) as double) / c.cohort_size end
        as retention_rate_on
from cells as c
left join retained as r
    on r.segment = c.segment and r.cohort_week = c.cohort_week and r.week_start = c.week_start
