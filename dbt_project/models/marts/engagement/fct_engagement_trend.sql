{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- Per day: total engagement without campaign-tagged events (the trend) and
    with them, and the robust z-score of the trend against the trailing window
    of earlier days: z = 0.6745 (x - median) / MAD. No z-score before
    trend_min_history_days of history, or when the MAD is 0. -#}

{%- set window = var('trend_window_days') | int %}

with bounds as (
    select
        {{ daily_spine_start() }} as lower_date,
        {{ window_end() }} as upper_date,
        (select min(activity_date) from {{ ref('int_user_days') }}) as first_date
),

days as (
    {{ day_spine('(select greatest(' ~ add_days('lower_date', -window) ~ ', first_date) from bounds)',
                 '(select upper_date from bounds)') }}
),

totals as (
    select
        days.activity_date,
        cast(coalesce(sum(ud.engagement_units_without_campaign), 0) as bigint) as engagement_trend,
        cast(coalesce(sum(ud.engagement_units), 0) as bigint) as engagement_with_campaign
    from days
    left join {{ ref('int_user_days') }} as ud on ud.activity_date = days.activity_date
    group by days.activity_date
),

history as (
    select t.activity_date, h.engagement_trend as past_value
    from totals as t
    inner join totals as h
        on h.activity_date between {{ add_days('t.activity_date', -window) }}
            and {{ add_days('t.activity_date', -1) }}
    where t.activity_date >= (select lower_date from bounds)
),

centre as (
    select activity_date, {{ median('past_value') }} as trailing_median, count(*) as history_days
    from history
    group by activity_date
),

spread as (
    select h.activity_date, {{ median('abs(h.past_value - c.trailing_median)') }} as trailing_mad
    from history as h
    inner join centre as c on h.activity_date = c.activity_date
    group by h.activity_date
),

scored as (
    select
        t.activity_date,
        t.engagement_trend,
        t.engagement_with_campaign,
        t.engagement_with_campaign - t.engagement_trend as campaign_engagement,
        c.trailing_median,
        s.trailing_mad,
        coalesce(c.history_days, 0) as history_days,
        case
            when c.history_days >= {{ var('trend_min_history_days') | int }} and s.trailing_mad > 0
            then 0.6745 * (t.engagement_trend - c.trailing_median) / s.trailing_mad
        end as robust_z
    from totals as t
    left join centre as c on t.activity_date = c.activity_date
    left join spread as s on t.activity_date = s.activity_date
    where t.activity_date >= (select lower_date from bounds)
)

select
    *,
    coalesce(abs(robust_z) >= {{ var('anomaly_z') }}
        and abs(engagement_trend - trailing_median) >= {{ var('anomaly_min_change') }} * trailing_median,
        false) as is_anomaly
from scored
