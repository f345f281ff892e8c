{{ config(materialized='table', tags=['daily']) }}

{#- Per day: users moving from one stage (yesterday) to another (today).
    from_stage 'none' marks a user's first active day; rows with from_stage =
    to_stage are users who stayed, so each day's rows sum to its users. -#}

select
    activity_date,
    coalesce(previous_stage, 'none') as from_stage,
    lifecycle_stage as to_stage,
    coalesce(previous_stage, 'none') <> lifecycle_stage as is_change,
    count(*) as users
from {{ ref('fct_user_lifecycle_daily') }}
group by activity_date, coalesce(previous_stage, 'none'), lifecycle_stage
