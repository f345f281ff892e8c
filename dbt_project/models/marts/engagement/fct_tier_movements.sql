{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- Movements between activity tiers (低 → 中 → 高 and back) from one day to the next:
    one row per day, tier of the day before and tier of the day, with the users who
    made that move. A user without a row in fct_user_engagement_daily on a day (no
    user-day in the trailing window, or not yet seen) is in tier 'none' then; none -> none
    is not a movement and has no row. direction: up, down or same (rank none < low <
    mid < high). -#}

with bounds as (
    select {{ daily_spine_start() }} as lower_date, {{ window_end() }} as upper_date
),

tiers as (
    select user_id, activity_date, activity_tier
    from {{ ref('fct_user_engagement_daily') }}
    where activity_date between (select {{ add_days('lower_date', -1) }} from bounds)
        and (select upper_date from bounds)
),

moves as (
    select
        coalesce(t.activity_date, {{ add_days('y.activity_date', 1) }}) as activity_date,
        coalesce(y.activity_tier, 'none') as from_tier,
        coalesce(t.activity_tier, 'none') as to_tier
    from (select * from tiers where activity_date >= (select lower_date from bounds)) as t
    full outer join tiers as y
        on t.user_id = y.user_id and y.activity_date = {{ add_days('t.activity_date', -1) }}
),

ranked as (
    select
        activity_date,
        from_tier,
        to_tier,
        {{ tier_rank('from_tier') }} as from_rank,
        {{ tier_rank('to_tier') }} as to_rank
    from moves
    where activity_date between (select lower_date from bounds)
        and (select upper_date from bounds)
        and not (from_tier = 'none' and to_tier = 'none')
)

select
    activity_date,
    from_tier,
    to_tier,
    case when to_rank > from_rank then 'up' when to_rank < from_rank then 'down'
        else 'same' end as direction,
    cast(count(*) as bigint) as users
from ranked
group by activity_date, from_tier, to_tier, from_rank, to_rank
