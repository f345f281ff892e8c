{{ config(tags=['scored']) }}

{#- Per configured segment, day of the trend window and lifecycle stage: how many of the
    segment's members as of the snapshot day were in that stage that day (a member not yet
    seen that day is in no stage). From the lifecycle spans that overlap the window, so
    the cost is members x window days. -#}

with bounds as (
    select {{ segment_trend_start() }} as first_date, {{ snapshot_date() }} as snapshot_date
),

days as (
    {{ day_spine('(select first_date from bounds)', '(select snapshot_date from bounds)') }}
),

spans as (
    select m.segment, s.user_id, s.valid_from, s.valid_to, s.lifecycle_stage
    from {{ ref('dim_user_segments') }} as m
    inner join {{ ref('fct_user_lifecycle_spans') }} as s on s.user_id = m.user_id
    where s.valid_to >= (select first_date from bounds)
        and s.valid_from <= (select snapshot_date from bounds)
)

select
    (select snapshot_date from bounds) as snapshot_date,
    s.segment,
    days.activity_date,
    s.lifecycle_stage,
    cast(count(*) as bigint) as users
from spans as s
inner join days on days.activity_date between s.valid_from and s.valid_to
group by s.segment, days.activity_date, s.lifecycle_stage
