{#- Per first-purchase cohort month (cohort_month null: all buyers): buyers, the share of
    first-time buyers with a second purchase day within value_repeat_short_days and
    value_repeat_long_days of the first, second -> third (share of second-time buyers
    with a third purchase day, as of the snapshot), and the median days to the second
    purchase. A window rate counts only buyers whose window has elapsed; null if none. -#}

{%- set short = var('value_repeat_short_days') | int %}
{%- set long = var('value_repeat_long_days') | int %}

with purchase_days as (
    select
        user_id,
        activity_date,
        row_number() over (partition by user_id order by activity_date) as purchase_number
    from {{ ref('int_user_days') }}
    where paid_orders > 0 and activity_date <= {{ snapshot_date() }}
),

buyers as (
    select
        user_id,
        max(case when purchase_number = 1 then activity_date end) as first_date,
        max(case when purchase_number = 2 then activity_date end) as second_date,
        max(case when purchase_number = 3 then activity_date end) as third_date
    from purchase_days
    where purchase_number <= 3
    group by user_id
),

measured as (
    select
        user_id,
        {{ period_start('month', 'first_date') }} as cohort_month,
        {{ dbt.datediff('first_date', 'second_date', 'day') }} as days_to_second,
        {{ add_days('first_date', short) }} <= {{ snapshot_date() }} as short_elapsed,
        {{ add_days('first_date', long) }} <= {{ snapshot_date() }} as long_elapsed,
        second_date is not null as has_second,
        third_date is not null as has_third
    from buyers
),

scopes as (
    select * from measured
    union all
    select user_id, null as cohort_month, days_to_second, short_elapsed, long_elapsed,
        has_second, has_third
    from measured
)

select
    {{ snapshot_date() }} as snapshot_date,
    cohort_month,
    count(*) as buyers,
    cast(sum(case when short_elapsed then 1 else 0 end) as bigint) as buyers_short_elapsed,
    avg(case when short_elapsed then case when days_to_second <= {{ short }} then cast(1 as double) else cast(0 as double) end end) as repeat_rate_short,
    cast(sum(case when long_elapsed then 1 else 0 end) as bigint) as buyers_long_elapsed,
    avg(case when long_elapsed then case when days_to_second <= {{ long }} then cast(1 as double) else cast(0 as double) end end) as repeat_rate_long,
    cast(sum(case when has_second then 1 else 0 end) as bigint) as second_buyers,
    avg(case when has_second then case when has_third then cast(1 as double) else cast(0 as double) end end) as second_to_third_rate,
    {{ median('days_to_second') }} as median_days_to_second,
    {{ short }} as short_days,
    {{ long }} as long_days
from scopes
group by cohort_month
