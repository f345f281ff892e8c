{#- Time helpers with adapter dispatch, so the project can move to Spark. -#}

{#- A zoned timestamp as a naive UTC timestamp: the one storage convention. -#}
{% macro to_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'userops')(column)) }}
{%- endmacro %}
{% macro default__to_utc_timestamp(column) -%}timezone('UTC', {{ column }}){%- endmacro %}
{% macro spark__to_utc_timestamp(column) -%}to_utc_timestamp({{ column }}, 'UTC'){%- endmacro %}

{#- The calendar day, in the reporting time zone, of a naive UTC timestamp.
    (DuckDB's timezone(tz, x) reads a naive x as local time in tz but turns a
    zoned x into local time in tz: hence the inner timezone('UTC', ...).) -#}
{% macro to_reporting_date(column) -%}
    {{ return(adapter.dispatch('to_reporting_date', 'userops')(column)) }}
{%- endmacro %}
{% macro default__to_reporting_date(column) -%}
    cast(timezone({{ sql_string(var('reporting_timezone')) }}, timezone('UTC', {{ column }})) as date)
{%- endmacro %}
{% macro spark__to_reporting_date(column) -%}
    to_date(from_utc_timestamp({{ column }}, {{ sql_string(var('reporting_timezone')) }}))
{%- endmacro %}

{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'userops')(start, end)) }}
{%- endmacro %}
{% macro default__seconds_between(start, end) -%}(epoch({{ end }}) - epoch({{ start }})){%- endmacro %}
{% macro spark__seconds_between(start, end) -%}(unix_timestamp({{ end }}) - unix_timestamp({{ start }})){%- endmacro %}

{% macro add_days(column, n) -%}
    cast({{ dbt.dateadd('day', n, column) }} as date)
{%- endmacro %}

{#- One row per day from start to end inclusive (both date expressions). -#}
{% macro day_spine(start, end) -%}
    {{ return(adapter.dispatch('day_spine', 'userops')(start, end)) }}
{%- endmacro %}
{% macro default__day_spine(start, end) -%}
    select cast(d as date) as activity_date
    from (select unnest(generate_series(cast({{ start }} as timestamp), cast({{ end }} as timestamp), interval 1 day)) as d)
{%- endmacro %}
{% macro spark__day_spine(start, end) -%}
    select explode(sequence(cast({{ start }} as date), cast({{ end }} as date), interval 1 day)) as activity_date
{%- endmacro %}

{#- The bounce rule of docs/METRICS.md: fewer than bounce_min_events events, or
    shorter than bounce_min_seconds. -#}
{% macro is_bounced(events, started_at, ended_at) -%}
    ({{ events }} < {{ var('bounce_min_events') | int }}
        or {{ seconds_between(started_at, ended_at) }} < {{ var('bounce_min_seconds') | int }})
{%- endmacro %}

{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'userops')(expression)) }}
{%- endmacro %}
{% macro default__median(expression) -%}median({{ expression }}){%- endmacro %}
{% macro spark__median(expression) -%}percentile({{ expression }}, 0.5){%- endmacro %}
