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
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro rebuilt_from() -%}
    (select case when bool_or(full_build) then cast('1900-01-01' as date)
                 else {{ add_days('min(window_start)', -1 * var('lookback_days')) }} end
     from {{ source('userops_meta', 'run_window') }})
{%- endmacro %}
