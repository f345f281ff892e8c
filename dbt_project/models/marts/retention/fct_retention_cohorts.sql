{#- Retention per cohort grain, cohort period and period number N, overall, by
    channel and platform, and by each configured attribute (breakdowns.attributes).
    "On": share of the cohort active in period N after the cohort period; "on or
    after": active in period N or any later period observed. A cell whose period N has not fully elapsed on the snapshot day
    is null, never a misleading low number. -#}

-- depends_on: {{ ref('int_user_attributes') }}
with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

members as (
    {% for grain in grains() -%}
    select user_id, '{{ grain }}' as grain, {{ period_start(grain, 'cohort_date') }} as cohort_period,
        channel, platform
    from {{ ref('int_user_cohorts') }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

by_breakdown as (
    select user_id, grain, cohort_period, 'all' as breakdown, 'all' as breakdown_value from members
    union all
    select user_id, grain, cohort_period, 'channel', channel from members
    union all
    select user_id, grain, cohort_period, 'platform', platform from members
    {{ attribute_breakdown_rows('members', 'x.user_id, x.grain, x.cohort_period') }}
),

activity as (
    select
        m.user_id,
        m.grain,
        {{ periods_between('m.grain', 'm.cohort_period', 'u.period_start') }} as period_number
    from members as m
    inner join {{ ref('int_user_periods') }} as u
        on m.user_id = u.user_id and m.grain = u.grain
        and u.is_active and u.period_start >= m.cohort_period
),

last_seen as (
    select user_id, grain, max(period_number) as last_period_number
    from activity
    group by user_id, grain
),

sizes as (
    select grain, cohort_period, breakdown, breakdown_value, count(*) as cohort_size
    from by_breakdown
    group by grain, cohort_period, breakdown, breakdown_value
),

periods as (
    {{ period_spine("(select min(cohort_date) from " ~ ref('int_user_cohorts') ~ ")", '(select snapshot_date from snapshot)') }}
),

cells as (
    select
        s.grain,
        s.cohort_period,
        s.breakdown,
        s.breakdown_value,
        s.cohort_size,
        {{ periods_between('s.grain', 's.cohort_period', 'p.period_start') }} as period_number,
        {{ shift_period('p.grain', 1, 'p.period_start') }}
            <= {{ add_days('(select snapshot_date from snapshot)', 1) }} as is_observable
    from sizes as s
    inner join periods as p
        on s.grain = p.grain and p.period_start >= s.cohort_period
),

{#- Counted per cell, not per member and cell: "on" counts the members active in period
    N; "on or after" is the number of members whose last active period is N or later, a
    running sum over the cells from the last period back. Linear in active periods and
    cells; joining every member to every cell of its cohort grew with users x periods
    (day grain: 23.5 k CDNOW customers x 546 days x 3 breakdowns). -#}
active_on as (
    select
        b.grain,
        b.cohort_period,
        b.breakdown,
        b.breakdown_value,
        a.period_number,
        count(distinct a.user_id) as retained_on
    from by_breakdown as b
    inner join activity as a on a.user_id = b.user_id and a.grain = b.grain
    group by b.grain, b.cohort_period, b.breakdown, b.breakdown_value, a.period_number
),

last_cells as (
    select grain, cohort_period, breakdown, breakdown_value, max(period_number) as max_period_number
    from cells
    group by grain, cohort_period, breakdown, breakdown_value
),

{#- Members by their last active period, a period past the last cell counted in it. -#}
last_counts as (
    select
        b.grain,
        b.cohort_period,
        b.breakdown,
        b.breakdown_value,
        least(l.last_period_number, lc.max_period_number) as period_number,
        count(*) as members
    from by_breakdown as b
    inner join last_seen as l on l.user_id = b.user_id and l.grain = b.grain
    inner join last_cells as lc
        on lc.grain = b.grain and lc.cohort_period = b.cohort_period
        and lc.breakdown = b.breakdown and lc.breakdown_value = b.breakdown_value
    group by 1, 2, 3, 4, 5
),

retained as (
    select
        c.grain,
        c.cohort_period,
        c.breakdown,
        c.breakdown_value,
        c.period_number,
        coalesce(o.retained_on, 0) as retained_on,
        cast(sum(coalesce(lc.members, 0)) over (
            partition by c.grain, c.cohort_period, c.breakdown, c.breakdown_value
            order by c.period_number desc rows between unbounded preceding and current row
        ) as bigint) as retained_on_or_after
    from cells as c
    left join active_on as o
        on o.grain = c.grain and o.cohort_period = c.cohort_period
        and o.breakdown = c.breakdown and o.breakdown_value = c.breakdown_value
        and o.period_number = c.period_number
    left join last_counts as lc
        on lc.grain = c.grain and lc.cohort_period = c.cohort_period
        and lc.breakdown = c.breakdown and lc.breakdown_value = c.breakdown_value
        and lc.period_number = c.period_number
)

select
    c.grain as cohort_grain,
    c.cohort_period,
    c.period_number,
    c.breakdown,
    c.breakdown_value,
    c.cohort_size,
    c.is_observable,
    case when c.is_observable then r.retained_on end as retained_on,
    case when c.is_observable then r.retained_on_or_after end as retained_on_or_after,
    case when c.is_observable then cast(r.retained_on as double) / c.cohort_size end as retention_rate_on,
    case when c.is_observable then cast(r.retained_on_or_after as double) / c.cohort_size end
        as retention_rate_on_or_after
from cells as c
inner join retained as r
    on c.grain = r.grain and c.cohort_period = r.cohort_period
    and c.breakdown = r.breakdown and c.breakdown_value = r.breakdown_value
    and c.period_number = r.period_number
