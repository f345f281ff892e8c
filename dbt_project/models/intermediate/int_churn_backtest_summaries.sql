{#- The churn challengers' rolling-origin cut-offs (docs: README "Churn models") and, as of
    each, every user's BTYD summary in active days (orders-only data: purchase days), which
    the BG/NBD and Pareto/NBD candidates are fitted on. Cut-offs: the latest feature day of
    int_churn_features' calendar grid whose label is complete (its churn_horizon_days have
    happened by the snapshot day) and every churn_backtest_step_days before it, up to
    churn_backtest_folds of them (never before the first active day); plus the snapshot day
    (is_scoring_day), on which the champion scores. Only days up to a cut-off are read for
    its rows: frequency = active days - 1, recency = last - first active day, T = cut-off -
    first active day. -#}

{%- set every = var('churn_snapshot_every_days') | int %}
{%- set horizon = var('churn_horizon_days') | int %}
{%- set step = var('churn_backtest_step_days') | int %}
{%- set folds = var('churn_backtest_folds') | int %}

with bounds as (
    select min(activity_date) as first_date, {{ snapshot_date() }} as snapshot_date
    from {{ ref('int_user_days') }}
    where is_active
),

grid as (
    select max(activity_date) as latest_labelled
    from ({{ day_spine('(select first_date from bounds)', add_days('(select snapshot_date from bounds)', -horizon)) }}) as d
    where {{ dbt.datediff("cast('1970-01-01' as date)", 'activity_date', 'day') }} % {{ every }} = 0
),

cutoffs as (
    select activity_date as cutoff_date, false as is_scoring_day
    from ({{ day_spine('(select first_date from bounds)', '(select latest_labelled from grid)') }}) as d
    where {{ dbt.datediff('activity_date', '(select latest_labelled from grid)', 'day') }} % {{ step }} = 0
        and activity_date > {{ add_days('(select latest_labelled from grid)', -step * folds) }}
    union all
    select snapshot_date, true from bounds
),

active as (
    select user_id, activity_date from {{ ref('int_user_days') }} where is_active
)

select
    c.cutoff_date,
    c.is_scoring_day,
    a.user_id,
    cast(count(*) - 1 as bigint) as frequency,
    cast({{ dbt.datediff('min(a.activity_date)', 'max(a.activity_date)', 'day') }} as bigint) as recency,
    cast({{ dbt.datediff('min(a.activity_date)', 'c.cutoff_date', 'day') }} as bigint) as T
from cutoffs as c
inner join active as a on a.activity_date <= c.cutoff_date
group by c.cutoff_date, c.is_scoring_day, a.user_id
