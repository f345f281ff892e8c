{{ config(tags=['scored']) }}

{#- One row per configured segment and member as of the snapshot day (docs/METRICS.md,
    "Segments"). Built after the scores (tag scored): a segment may name RFM segments and
    churn risk. -#}

-- the segments' sources, whichever conditions the config gives: the dependency graph
-- (dbt's order, Dagster's asset graph) must not change with the configuration
-- depends_on: {{ ref('dim_users') }}, {{ ref('int_events') }}
select
    {{ snapshot_date() }} as snapshot_date,
    m.segment,
    m.user_id
from ({{ segment_members(var('segments')) }}) as m
