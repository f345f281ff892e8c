{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('period_start'),
        pre_hook="{{ delete_funnel_periods('period_start') }}",
        on_schema_change=('ignore' if target.type == 'spark' else 'append_new_columns'),
    )
}}

{#- How far each user got in each configured funnel (funnels in userops.yaml;
    docs/METRICS.md, "Funnels"), per day and per ISO week they entered: one row per step
    reached. A user enters at their first event of step 1 in the period (entered_at, the
    platform of that event); step k is reached by the first event of step k at or after
    step k - 1's, within within_hours of entering (the window may run past midnight or
    the week's end). Events between steps do not matter; a step's event before the
    previous step's does not count for it. As of the snapshot day. Daily: a run rebuilds
    the periods from funnel_progress_from() (macros/funnels.sql), a week or two, or every
    period when the configured funnels changed; funnel_signature says which definition
    built a row. -#}

{%- set funnels = var('funnels') %}
{%- set from_day = funnel_progress_from() %}

with events as (
    select user_id, event_name, event_at, activity_date, platform, properties
    from {{ ref('int_events') }}
    where activity_date >= {{ from_day }} and activity_date <= {{ snapshot_date() }}
)

{%- if funnels | length == 0 %}

select
    cast(null as string) as funnel,
    cast(null as string) as funnel_signature,
    cast(null as string) as grain,
    cast(null as date) as period_start,
    cast(null as string) as user_id,
    cast(null as string) as platform,
    cast(null as timestamp) as entered_at,
    cast(null as int) as step_number,
    cast(null as timestamp) as reached_at
from events
where 1 = 0

{%- else %}
{%- set parts = [] %}
{%- for f in funnels %}
{%- set fi = loop.index %}
{%- for grain in ['day', 'week'] %}
{%- set prefix = 'f' ~ fi ~ '_' ~ grain %}
{%- for step in f.steps %}
{%- set k = loop.index %}
, {{ prefix }}_{{ k }} as (
    {%- if k == 1 %}
    select
        e.user_id,
        {{ period_start(grain, 'e.activity_date') }} as period_start,
        min(e.event_at) as entered_at,
        min(e.event_at) as reached_at,
        min_by(e.platform, e.event_at) as platform
    from events as e
    where {{ funnel_step_matches(step, 'e') }}
    group by e.user_id, {{ period_start(grain, 'e.activity_date') }}
    {%- else %}
    select
        p.user_id,
        p.period_start,
        p.entered_at,
        min(e.event_at) as reached_at,
        p.platform
    from {{ prefix }}_{{ k - 1 }} as p
    inner join events as e
        on e.user_id = p.user_id
        and {{ funnel_step_matches(step, 'e') }}
        and e.event_at >= p.reached_at
        and e.event_at <= {{ dbt.dateadd('second', f.within_seconds, 'p.entered_at') }}
    group by p.user_id, p.period_start, p.entered_at, p.platform
    {%- endif %}
)
{%- do parts.append("select " ~ sql_string(f.name) ~ " as funnel, "
    ~ sql_string(funnel_signature(f)) ~ " as funnel_signature, " ~ sql_string(grain)
    ~ " as grain, period_start, user_id, platform, entered_at, " ~ k
    ~ " as step_number, reached_at from " ~ prefix ~ "_" ~ k) %}
{%- endfor %}
{%- endfor %}
{%- endfor %}

{{ parts | join('\nunion all\n') }}
{%- endif %}
