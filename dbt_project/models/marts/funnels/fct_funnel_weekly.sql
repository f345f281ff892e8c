-- the breakdowns' sources, whichever the config names: the dependency graph must not
-- change with the configuration
-- depends_on: {{ ref('int_user_cohorts') }}, {{ ref('stg_app__users') }}
{{ funnel_table('week') }}
