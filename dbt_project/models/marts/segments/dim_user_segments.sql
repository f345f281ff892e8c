{{ config(tags=['scored']) }}

{#- One row per configured segment and member as of the snapshot day (docs/METRICS.md,
    "Segments"). Built after the scores (tag scored): a segment may name RFM segments and
    churn risk. -#}

select
    {{ snapshot_date() }} as snapshot_date,
    m.segment,
    m.user_id
from ({{ segment_members(var('segments')) }}) as m
