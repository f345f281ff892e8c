{#- The JSON path of a property path `a.b` (dots nest), each key quoted so that a
    tracker's names ($revenue, "Order Completed") read as they are. -#}
{% macro json_key_path(key) -%}
    {{ return(adapter.dispatch('json_key_path', 'userops')(key)) }}
{%- endmacro %}
{% macro default__json_key_path(key) -%}
    {%- set parts = [] -%}
    {%- for part in key.split('.') %}{% do parts.append('"' ~ part ~ '"') %}{% endfor -%}
    {{ return('$.' ~ parts | join('.')) }}
{%- endmacro %}
{% macro spark__json_key_path(key) -%}
    {%- set parts = [] -%}
    {%- for part in key.split('.') %}{% do parts.append("['" ~ part ~ "']") %}{% endfor -%}
    {{ return('$' ~ parts | join('')) }}
{%- endmacro %}

{#- A numeric property of a JSON properties column (null when absent or not a number). -#}
{% macro json_number(column, key) -%}
    {{ return(adapter.dispatch('json_number', 'userops')(column, key)) }}
{%- endmacro %}
{% macro default__json_number(column, key) -%}
    try_cast(json_extract_string({{ column }}, {{ sql_string(json_key_path(key)) }}) as double)
{%- endmacro %}
{% macro spark__json_number(column, key) -%}
    cast(get_json_object({{ column }}, {{ sql_string(json_key_path(key)) }}) as double)
{%- endmacro %}

{#- A text property of a JSON column (null when absent). -#}
{% macro json_string(column, key) -%}
    {{ return(adapter.dispatch('json_string', 'userops')(column, key)) }}
{%- endmacro %}
{% macro default__json_string(column, key) -%}
    json_extract_string({{ column }}, {{ sql_string(json_key_path(key)) }})
{%- endmacro %}
{% macro spark__json_string(column, key) -%}
    get_json_object({{ column }}, {{ sql_string(json_key_path(key)) }})
{%- endmacro %}

{#- The buy-till-you-die purchase summary (docs/METRICS.md, "Value") as of a day: purchases
    grouped per day (a purchase day has a paid order), frequency = purchase days - 1,
    recency = first to last purchase day, T = first purchase day to as_of, monetary_value =
    mean revenue of the repeat purchase days (0 when frequency = 0). Days, as integers.
    Money is rounded to 1e-6: a parallel float sum differs in its last bits from run to
    run, and the BTYD fits should not. -#}
{% macro purchase_summary(as_of) -%}
    select
        user_id,
        min(activity_date) as first_purchase_date,
        max(activity_date) as last_purchase_date,
        cast(count(*) - 1 as bigint) as frequency,
        cast({{ dbt.datediff('min(activity_date)', 'max(activity_date)', 'day') }} as bigint) as recency,
        cast({{ dbt.datediff('min(activity_date)', as_of, 'day') }} as bigint) as T,
        round(coalesce(
            (sum(revenue) - sum(case when is_first then revenue else 0 end))
            / nullif(count(*) - 1, 0),
            0
        ), 6) as monetary_value,
        cast(sum(paid_orders) as bigint) as paid_orders,
        round(sum(revenue), 6) as revenue
    from (
        select
            user_id,
            activity_date,
            paid_orders,
            revenue,
            activity_date = min(activity_date) over (partition by user_id) as is_first
        from {{ ref('int_user_days') }}
        where paid_orders > 0 and activity_date <= {{ as_of }}
    ) as purchase_days
    group by user_id
{%- endmacro %}
