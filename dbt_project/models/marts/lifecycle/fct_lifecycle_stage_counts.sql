{{ config(materialized='table', tags=['daily']) }}

{#- Per day and stage: users. The stages of a day sum to the users seen (first
    active) by that day. -#}

select activity_date, lifecycle_stage, count(*) as users
from {{ ref('fct_user_lifecycle_daily') }}
group by activity_date, lifecycle_stage
