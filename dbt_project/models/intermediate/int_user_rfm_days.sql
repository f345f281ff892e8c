{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
        on_schema_change=('ignore' if target.type == 'spark' else 'append_new_columns'),
    )
}}

{#- Per user and day: the R, F and M source counts as configured (rfm_*). Paid orders
    by default; an event name scores that event, and M sums a numeric JSON property.
    f_value is what F adds up: the F events, or their numeric property when
    rfm_frequency_property names one (minutes watched). -#}

{#- Both sources, whichever the settings read: the dependency graph (Dagster's asset
    graph and dbt's build order) must not change with the configuration. -#}
-- depends_on: {{ ref('stg_app__orders') }}, {{ ref('int_events') }}

{%- set r_event = var('rfm_recency_event') %}
{%- set f_event = var('rfm_frequency_event') %}
{%- set m_event = var('rfm_monetary_event') %}
{%- set m_property = var('rfm_monetary_property') %}
{%- set f_property = var('rfm_frequency_property') %}

with parts as (
    {%- if r_event is none %}
    select user_id, order_date as activity_date, 1 as r_events, 0 as f_events, 0.0 as f_value,
        0.0 as m_amount
    from {{ ref('stg_app__orders') }}
    where is_paid and {{ in_run_window('order_date') }}
    {%- else %}
    select user_id, activity_date, 1 as r_events, 0 as f_events, 0.0 as f_value, 0.0 as m_amount
    from {{ ref('int_events') }}
    where event_name = {{ sql_string(r_event) }} and {{ in_run_window('activity_date') }}
        {{ landed_in_run_window('landed_event_time') }}
    {%- endif %}
    union all
    {%- if f_event is none %}
    select user_id, order_date, 0, 1, 1.0, 0.0
    from {{ ref('stg_app__orders') }}
    where is_paid and {{ in_run_window('order_date') }}
    {%- else %}
    select user_id, activity_date, 0, 1,
        {% if f_property is none %}1.0{% else %}coalesce({{ json_number('properties', f_property) }}, 0){% endif %},
        0.0
    from {{ ref('int_events') }}
    where event_name = {{ sql_string(f_event) }} and {{ in_run_window('activity_date') }}
        {{ landed_in_run_window('landed_event_time') }}
    {%- endif %}
    union all
    {%- if m_event is none %}
    select user_id, order_date, 0, 0, 0.0, amount
    from {{ ref('stg_app__orders') }}
    where is_paid and {{ in_run_window('order_date') }}
    {%- else %}
    select user_id, activity_date, 0, 0, 0.0, coalesce({{ json_number('properties', m_property) }}, 0)
    from {{ ref('int_events') }}
    where event_name = {{ sql_string(m_event) }} and {{ in_run_window('activity_date') }}
        {{ landed_in_run_window('landed_event_time') }}
    {%- endif %}
)

select
    user_id,
    activity_date,
    cast(sum(r_events) as bigint) as r_events,
    cast(sum(f_events) as bigint) as f_events,
    cast(sum(f_value) as double) as f_value,
    sum(m_amount) as m_amount
from parts
group by user_id, activity_date
