{#- Tests of the daily tables check the days a run rebuilt, not the whole history.

    A test's `where` may hold the placeholder __rebuilt_from__: the first day the run
    (re)built, or 1900-01-01 for a full build (a full refresh, or a first run). Days
    before it were tested by the run that built them and no run since has touched them,
    so a test of row-level facts (not null, accepted values, a row's own arithmetic) or
    of uniqueness over keys that include the day loses nothing, and a daily run's tests
    cost that day's rows instead of the whole history's. -#}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__rebuilt_from__' in where -%}
            {%- set where = where | replace('__rebuilt_from__', rebuilt_from()) -%}
        {%- endif -%}
        {%- if '__landed_rebuilt_from__' in where -%}
            {%- set where = where | replace('__landed_rebuilt_from__', landed_rebuilt_from()) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The first rebuilt day, read when the test runs and written as a date literal: a
    scalar subquery over run_window cannot prune a scan, a literal lets DuckDB skip the
    row groups of older days (the subquery when not executing: parsing, docs). -#}
{% macro rebuilt_from() -%}
    {%- if not execute -%}
        {{- return(rebuilt_from_query()) -}}
    {%- endif -%}
    {{- return("cast('" ~ rebuilt_from_day() ~ "' as date)") -}}
{%- endmacro %}

{% macro rebuilt_from_query() -%}
    (select case when bool_or(full_build) then cast('1900-01-01' as date)
                 else {{ add_days('min(window_start)', -1 * var('lookback_days')) }} end
     from {{ source('userops_meta', 'run_window') }})
{%- endmacro %}

{#- The first rebuilt day as an ISO string, read from run_window now (1900-01-01 without
    a window). -#}
{% macro rebuilt_from_day() -%}
    {{- return(run_query('select cast(' ~ rebuilt_from_query() ~ ' as string)').rows[0][0]
               or '1900-01-01') -}}
{%- endmacro %}

{#- __landed_rebuilt_from__, for the staged events (a view over the landing table): the
    landed time from midnight UTC two days before the first rebuilt day (any reporting
    time zone's day starts after it), so the tests of a daily run read the landing's
    recent row groups only; the landing itself enforces the same rules on every row. -#}
{% macro landed_rebuilt_from() -%}
    {%- if not execute -%}
        {{- return(utc_midnight('1900-01-01')) -}}
    {%- endif -%}
    {%- set first = modules.datetime.date.fromisoformat(rebuilt_from_day()) -%}
    {{- return(utc_midnight((first - modules.datetime.timedelta(days=2)).isoformat())) -}}
{%- endmacro %}
