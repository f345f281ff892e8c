{#- RFM measures as of the snapshot day, for users with at least one R event:
    recency_days since the last one, F (the F events, or the sum of their
    rfm_frequency_property) and M amount in the window (rfm_window_days; null = lifetime).
    Scored in Python (models/rfm.py -> marts.user_rfm). -#}

{%- set window = var('rfm_window_days') %}
{#- a count stays an integer; a property sum (minutes watched) keeps its fractions -#}
{%- if var('rfm_frequency_property') is none %}
{%- set f_column, f_type = 'f_events', 'bigint' %}
{%- else %}
{%- set f_column, f_type = 'f_value', 'double' %}
{%- endif %}

with days as (
    select *
    from {{ ref('int_user_rfm_days') }}
    where activity_date <= {{ snapshot_date() }}
)

select
    {{ snapshot_date() }} as snapshot_date,
    user_id,
    max(case when r_events > 0 then activity_date end) as last_recency_date,
    {{ dbt.datediff('max(case when r_events > 0 then activity_date end)', snapshot_date(), 'day') }} as recency_days,
    {%- if window is none %}
    cast(sum({{ f_column }}) as {{ f_type }}) as frequency,
    sum(m_amount) as monetary
    {%- else %}
    cast(sum(case when activity_date > {{ add_days(snapshot_date(), -1 * (window | int)) }} then {{ f_column }} else 0 end) as {{ f_type }}) as frequency,
    sum(case when activity_date > {{ add_days(snapshot_date(), -1 * (window | int)) }} then m_amount else 0 end) as monetary
    {%- endif %}
from days
group by user_id
having max(r_events) > 0
