{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('week_start'),
        pre_hook="{{ delete_funnel_periods('week_start') }}",
        on_schema_change=('ignore' if target.type == 'spark' else 'append_new_columns'),
    )
}}

-- the breakdowns' sources, whichever the config names: the dependency graph must not
-- change with the configuration
-- depends_on: {{ ref('int_user_cohorts') }}, {{ ref('stg_app__users') }}
{{ funnel_table('week') }}
