{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_run_window('activity_date') }}",
        tags=['daily'],
    )
}}

{#- Per user and day, from the user's first active day on: the lifecycle stage
    as of that day and the stage the day before. First rule that matches wins:
    churned (no activity for >= churn_days), reactivated (a churned user active
    again, for that day), new (first active day < new_days ago), declining (no
    activity for >= declining_inactive_days, or cur < declining_ratio x prev),
    mature (tier high), growing. cur = engagement index over the last 28 days,
    prev = over the 28 days before. Every rule reads only the 56 days up to the
    day, so a day's stage is a pure function of history. -#}

{%- set churn = var('lifecycle_churn_days') | int %}
{%- set new_days = var('lifecycle_new_days') | int %}
{%- set idle = var('lifecycle_declining_inactive_days') | int %}
{%- set w = var('engagement_window_days') | int %}

with bounds as (
    select
        {{ daily_spine_start() }} as lower_date,
        {{ window_end() }} as upper_date
),

{#- First active days come from int_user_cohorts (as of the snapshot day, which
    is never before upper_date; a first day after upper_date matches no row here). -#}
first_active as (
    select user_id, first_active_date
    from {{ ref('int_user_cohorts') }}
    where first_active_date is not null
        and first_active_date <= (select upper_date from bounds)
),

{#- A dense grid, one row per user and day, from the day before the window (for
    previous_stage) less the longest look back of any rule (2 x the engagement window,
    churn_days), or from the first active day when that is later: every rule is then a
    window over the preceding rows, and the cost follows user-days, not user-days x
    the look back. -#}
days as (
    {{ day_spine(add_days('(select lower_date from bounds)', -(2 * w + churn + 1)), '(select upper_date from bounds)') }}
),

grid as (
    select f.user_id, f.first_active_date, days.activity_date
    from first_active as f
    inner join days on days.activity_date >= f.first_active_date
),

user_days as (
    select user_id, activity_date, is_active, engagement_units
    from {{ ref('int_user_days') }}
    where activity_date between (select {{ add_days('lower_date', -(2 * w + churn + 1)) }} from bounds)
        and (select upper_date from bounds)
),

daily as (
    select
        g.activity_date,
        g.user_id,
        g.first_active_date,
        case when ud.is_active then 1 else 0 end as active,
        coalesce(ud.engagement_units, 0) as units
    from grid as g
    left join user_days as ud
        on ud.user_id = g.user_id and ud.activity_date = g.activity_date
),

history as (
    select
        activity_date,
        user_id,
        first_active_date,
        active as active_today,
        max(active) over (partition by user_id order by activity_date
            rows between {{ churn - 1 }} preceding and current row) as active_within_churn_days,
        coalesce(max(active) over (partition by user_id order by activity_date
            rows between {{ churn }} preceding and 1 preceding), 0) as active_in_churn_days_before,
        max(active) over (partition by user_id order by activity_date
            rows between {{ idle - 1 }} preceding and current row) as active_within_idle_days,
        sum(units) over (partition by user_id order by activity_date
            rows between {{ w - 1 }} preceding and current row) as engagement_cur,
        coalesce(sum(units) over (partition by user_id order by activity_date
            rows between {{ 2 * w - 1 }} preceding and {{ w }} preceding), 0) as engagement_prev
    from daily
),

staged as (
    select
        activity_date,
        user_id,
        engagement_cur,
        engagement_prev,
        case
            when active_within_churn_days = 0 then 'churned'
            when active_today = 1 and first_active_date < activity_date and active_in_churn_days_before = 0
                then 'reactivated'
            when {{ dbt.datediff('first_active_date', 'activity_date', 'day') }} < {{ new_days }} then 'new'
            when active_within_idle_days = 0
                or engagement_cur < {{ var('lifecycle_declining_ratio') }} * engagement_prev then 'declining'
            when engagement_cur >= {{ var('tier_high_min') | int }} then 'mature'
            else 'growing'
        end as lifecycle_stage
    from history
)

select
    activity_date,
    user_id,
    lifecycle_stage,
    lag(lifecycle_stage) over (partition by user_id order by activity_date) as previous_stage,
    engagement_cur,
    engagement_prev
from staged
qualify activity_date >= (select lower_date from bounds)
