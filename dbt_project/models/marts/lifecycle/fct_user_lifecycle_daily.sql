{{ config(materialized='view') }}

{#- Per user and day, from the user's first active day through the snapshot day: the
    lifecycle stage as of that day, the stage the day before (null on the first active
    day), cur and prev. The daily series of fct_user_lifecycle_spans, which stores it by
    change; a view, so the rows cost nothing until a query reads them. -#}

with spans as (
    select * from {{ ref('fct_user_lifecycle_spans') }}
),

days as (
    {{ day_spine('(select min(valid_from) from spans)', '(select max(valid_to) from spans)') }}
)

select
    days.activity_date,
    spans.user_id,
    spans.lifecycle_stage,
    case when days.activity_date = spans.valid_from then spans.previous_stage
        else spans.lifecycle_stage end as previous_stage,
    spans.engagement_cur,
    spans.engagement_prev
from spans
inner join days on days.activity_date between spans.valid_from and spans.valid_to
