{#- One row per user, grain (day, week, month) and period with any user-day, as
    of the snapshot day: active in the period, paid revenue in the period. -#}

{% for grain in grains() -%}
select
    user_id,
    '{{ grain }}' as grain,
    {{ period_start(grain, 'activity_date') }} as period_start,
    max(case when is_active then 1 else 0 end) = 1 as is_active,
    sum(revenue) as revenue
from {{ ref('int_user_days') }}
where activity_date <= {{ snapshot_date() }}
group by user_id, {{ period_start(grain, 'activity_date') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
