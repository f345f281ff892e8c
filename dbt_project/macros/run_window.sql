{#- The run window: the days a run (re)builds.

    The orchestrator writes the window into the table _userops.run_window right
    before it calls dbt, instead of passing it as --vars: changing --vars forces
    dbt to re-parse the whole project (~5 s per run), a table does not.

    Daily models rebuild [window_start - lookback_days, window_end]; a full
    refresh (or a first run) builds every day up to window_end. Either way no
    day after window_end is touched, so day-by-day runs, one backfill run and a
    full refresh give the same rows. -#}

{% macro window_end() -%}
    (select max(window_end) from {{ source('userops_meta', 'run_window') }})
{%- endmacro %}

{#- The day snapshots are taken on: the latest day the daily tables hold. -#}
{% macro snapshot_date() -%}
    (select max(built_through) from {{ source('userops_meta', 'run_window') }})
{%- endmacro %}

{% macro window_lower() -%}
    {%- if is_incremental() -%}
        (select {{ add_days('min(window_start)', -1 * var('lookback_days')) }} from {{ source('userops_meta', 'run_window') }})
    {%- else -%}
        cast('1900-01-01' as date)
    {%- endif -%}
{%- endmacro %}

{% macro in_run_window(column) -%}
    ({{ column }} between {{ window_lower() }} and {{ window_end() }})
{%- endmacro %}

{#- How a daily model's rows of the rebuilt days are replaced. DuckDB: the pre_hook
    deletes them, the model appends. Spark (Parquet tables, no DELETE): the table is
    partitioned by the day, the pre_hook drops the rebuilt days' partitions (so a day that
    lost all its rows does not keep stale ones) and the model overwrites the partitions it
    writes (insert_overwrite), so a rerun replaces rather than adds even if a pre_hook was
    skipped. -#}
{% macro daily_strategy() -%}
    {{- 'insert_overwrite' if target.type == 'spark' else 'append' -}}
{%- endmacro %}

{% macro day_partition(column) -%}
    {{- return([column] if target.type == 'spark' else none) -}}
{%- endmacro %}

{#- pre_hook of daily models: drop the days about to be rebuilt, so a day that
    lost all its rows on a rerun does not keep stale ones. -#}
{% macro delete_run_window(column='activity_date') -%}
    {{ return(adapter.dispatch('delete_run_window', 'userops')(column)) }}
{%- endmacro %}

{% macro default__delete_run_window(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_run_window(column) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_run_window(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set row = run_query('select ' ~ window_lower() ~ ', ' ~ window_end()).rows[0] -%}
        {{ drop_day_partitions(column, row[0], row[1]) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Spark: drop the partitions of the days first..last (dates or ISO strings). -#}
{% macro drop_day_partitions(column, first, last) -%}
    {%- set day = modules.datetime.date.fromisoformat(first | string | truncate(10, true, '')) -%}
    {%- set last_day = modules.datetime.date.fromisoformat(last | string | truncate(10, true, '')) -%}
    {%- set specs = [] -%}
    {%- for i in range((last_day - day).days + 1) -%}
        {%- do specs.append("partition (" ~ column ~ " = '" ~ (day + modules.datetime.timedelta(days=i)).isoformat() ~ "')") -%}
    {%- endfor -%}
    {%- if specs -%}
        alter table {{ this }} drop if exists {{ specs | join(', ') }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The first day to rebuild of a model whose row for day d reads the days up to
    d + `reach` (a label over the days after it) and which holds rows through the snapshot
    day: `reach` days before the earlier of the window's first rebuilt day and the day the
    tables were built through before this run (so labels that were incomplete then are
    completed now, and a skipped day is caught up). 1900-01-01 on a full build. -#}
{% macro rebuild_from(reach) -%}
    {%- if is_incremental() -%}
        {%- set lower = add_days('min(window_start)', -1 * var('lookback_days')) -%}
        (select {{ add_days('least(' ~ lower ~ ', coalesce(min(previous_built_through), ' ~ lower ~ '))', -1 * reach) }}
         from {{ source('userops_meta', 'run_window') }})
    {%- else -%}
        cast('1900-01-01' as date)
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of the models that use rebuild_from: drop their rows from that day on. -#}
{% macro delete_from_rebuild_day(column, reach) -%}
    {{ delete_from_day(column, rebuild_from(reach)) }}
{%- endmacro %}

{#- pre_hook of a daily model that rebuilds its rows from a day on: drop them, from `first`
    (a SQL expression of a date) on. -#}
{% macro delete_from_day(column, first) -%}
    {{ return(adapter.dispatch('delete_from_day', 'userops')(column, first)) }}
{%- endmacro %}

{% macro default__delete_from_day(column, first) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ column }} >= {{ first }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Spark: the partitions from `first`, or from the table's first day when that is later
    (a rebuild of everything names no partition before it), through its last. -#}
{% macro spark__delete_from_day(column, first) -%}
    {%- if execute and is_incremental() -%}
        {%- set start = run_query('select ' ~ first).rows[0][0] | string | truncate(10, true, '') -%}
        {%- set span = run_query('select min(' ~ column ~ '), max(' ~ column ~ ') from ' ~ this).rows[0] -%}
        {%- if span[1] is none -%}
            select 1
        {%- else -%}
            {%- set lowest = span[0] | string | truncate(10, true, '') -%}
            {{ drop_day_partitions(column, [start, lowest] | max, span[1]) }}
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- An extra filter on a landed timestamp column (as landed, not converted) that lets
    DuckDB skip the row groups outside the run window, for models that read the staged
    events: the bounds of in_run_window are scalar subqueries over run_window, which
    cannot prune a scan (a 10 M-event warehouse read every event to find one day's, 1.6 s
    against 0.01 s), so here they are read when the model runs and written as literals,
    widened by two days for any reporting time zone. The exact in_run_window filter stays
    beside it. Nothing on a full build, in dbt unit tests (is_incremental false) or at
    parse time. -#}
{% macro landed_in_run_window(column) -%}
    {%- if execute and is_incremental() -%}
        {%- set bounds -%}
            select
                cast({{ add_days('min(window_start)', -1 * var('lookback_days') - 2) }} as string),
                cast({{ add_days('max(window_end)', 2) }} as string)
            from {{ source('userops_meta', 'run_window') }}
        {%- endset -%}
        {%- set row = run_query(bounds).rows[0] -%}
        {%- if row[0] is not none and row[1] is not none -%}
            and {{ column }} >= {{ utc_midnight(row[0]) }}
            and {{ column }} < {{ utc_midnight(row[1]) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Midnight UTC of an ISO day, as a literal comparable with a landed (zoned) time. -#}
{% macro utc_midnight(day) -%}
    {{ return(adapter.dispatch('utc_midnight', 'userops')(day)) }}
{%- endmacro %}
{% macro default__utc_midnight(day) -%}cast('{{ day }} 00:00:00+00' as timestamptz){%- endmacro %}
{#- Spark's timestamps are instants, read in the session's time zone (UTC) -#}
{% macro spark__utc_midnight(day) -%}cast('{{ day }} 00:00:00' as timestamp){%- endmacro %}
