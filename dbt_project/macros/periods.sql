{#- Periods: day, ISO week (Monday start) and calendar month. -#}

{% macro grains() -%}{{ return(['day', 'week', 'month']) }}{%- endmacro %}

{% macro period_start(grain, date_expr) -%}
    cast({{ dbt.date_trunc(grain, date_expr) }} as date)
{%- endmacro %}

{#- Shift a period start by n periods; `grain_column` is a column holding the
    grain name, so one query can serve all grains. -#}
{% macro shift_period(grain_column, n, date_expr) -%}
    case {{ grain_column }}
        when 'day' then cast({{ dbt.dateadd('day', n, date_expr) }} as date)
        when 'week' then cast({{ dbt.dateadd('day', n * 7, date_expr) }} as date)
        else cast({{ dbt.dateadd('month', n, date_expr) }} as date)
    end
{%- endmacro %}

{#- Whole periods from one period start to another. -#}
{% macro periods_between(grain_column, start_expr, end_expr) -%}
    cast(case {{ grain_column }}
        when 'day' then {{ dbt.datediff(start_expr, end_expr, 'day') }}
        when 'week' then floor({{ dbt.datediff(start_expr, end_expr, 'day') }} / 7)
        else {{ dbt.datediff(start_expr, end_expr, 'month') }}
    end as integer)
{%- endmacro %}

{#- Period starts of every grain from the first day to the last, one row each. -#}
{% macro period_spine(first_day, last_day) -%}
    with all_days as (
        {{ day_spine(first_day, last_day) }}
    )
    {% for grain in grains() -%}
    select distinct '{{ grain }}' as grain, {{ period_start(grain, 'activity_date') }} as period_start
    from all_days
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
{%- endmacro %}
