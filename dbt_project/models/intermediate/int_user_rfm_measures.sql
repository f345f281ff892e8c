{#- RFM measures as of the snapshot day, for users with at least one R event:
    recency_days since the last one, F events and M amount in the window (rfm_window_days;
    null = lifetime). Scored in Python (models/rfm.py -> marts.user_rfm). -#}

{%- set window = var('rfm_window_days') %}

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
    cast(sum(f_events) as bigint) as frequency,
    sum(m_amount) as monetary
    {%- else %}
    cast(sum(case when activity_date > {{ add_days(snapshot_date(), -1 * (window | int)) }} then f_events else 0 end) as bigint) as frequency,
    sum(case when activity_date > {{ add_days(snapshot_date(), -1 * (window | int)) }} then m_amount else 0 end) as monetary
    {%- endif %}
from days
group by user_id
having max(r_events) > 0
