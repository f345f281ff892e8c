{#- Whether activity comes from events (engaged visits) or, for a product with
    only orders, from purchase days: activity_source 'events', 'orders', or
    'auto' (orders when no event landed at all). A SQL boolean expression. -#}
{% macro uses_events() -%}
    {#- The model depends on the events whatever the setting: the dependency graph (and
        so Dagster's asset graph and the order dbt builds in) must not change with
        activity.source. -#}
    {%- set events = ref('int_events') -%}
    {%- set source = var('activity_source') -%}
    {%- if source == 'events' -%}true
    {%- elif source == 'orders' -%}false
    {%- else -%}exists (select 1 from {{ events }})
    {%- endif -%}
{%- endmacro %}

{#- Activity tier of an engagement index (docs/METRICS.md: boundaries inclusive). -#}
{% macro activity_tier(index) -%}
    case
        when {{ index }} >= {{ var('tier_high_min') | int }} then 'high'
        when {{ index }} >= {{ var('tier_mid_min') | int }} then 'mid'
        when {{ index }} >= 1 then 'low'
        else 'none'
    end
{%- endmacro %}

{#- First day of the spine of a daily mart: a full refresh starts at the first
    day with any user-day; an incremental run at its window (never earlier
    than the first day, so both agree). -#}
{% macro daily_spine_start() -%}
    {%- if is_incremental() -%}
    greatest({{ window_lower() }}, (select min(activity_date) from {{ ref('int_user_days') }}))
    {%- else -%}
    (select min(activity_date) from {{ ref('int_user_days') }})
    {%- endif -%}
{%- endmacro %}

{#- Order of the tiers, for movements up or down: none < low < mid < high. -#}
{% macro tier_rank(tier) -%}
    case {{ tier }} when 'high' then 3 when 'mid' then 2 when 'low' then 1 else 0 end
{%- endmacro %}

{#- The weight of an event (engagement.weights; 1 when not listed): a visit counts in the
    engagement index by its heaviest key event's weight. -#}
{% macro event_weight(column) -%}
    {%- set weights = var('engagement_weights') -%}
    {%- if weights -%}
        case {{ column }}
        {%- for name, weight in weights.items() %} when {{ sql_string(name) }} then {{ weight | int }}{% endfor %}
        else 1 end
    {%- else -%}
        1
    {%- endif -%}
{%- endmacro %}

{#- The rows of each configured attribute breakdown (breakdowns.attributes), as `union all`
    parts to follow a breakdown union: per attribute, the `columns` of `relation` (aliased
    x, with a user_id), the breakdown attribute.<column> and the user's bounded value from
    int_user_attributes ('unknown' without one), then the `after` columns, if any. -#}
{% macro attribute_breakdown_rows(relation, columns, after=none) -%}
    {%- for column in var('breakdown_attributes') %}
    union all
    select {{ columns }}, {{ sql_string('attribute.' ~ column) }},
        coalesce(a.breakdown_value, 'unknown'){{ ', ' ~ after if after }}
    from {{ relation }} as x
    left join {{ ref('int_user_attributes') }} as a
        on x.user_id = a.user_id and a.breakdown = {{ sql_string('attribute.' ~ column) }}
    {%- endfor %}
{%- endmacro %}
