{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('feature_date'),
        pre_hook="{{ delete_from_rebuild_day('feature_date', var('churn_horizon_days') | int) }}",
        on_schema_change=('ignore' if target.type == 'spark' else 'append_new_columns'),
    )
}}

{#- Training and scoring rows of the supervised churn model (docs/METRICS.md, "Churn
    scoring"): on feature days on a fixed calendar grid, the days whose number since
    1970-01-01 is a multiple of churn_snapshot_every_days, and on the snapshot day (the
    scoring day), one row per user active within
    2 x lifecycle_churn_days: users not yet churned, and the recently churned whom a
    win-back can still reach. The label is_churned = no activity in the next
    churn_horizon_days; null while those days have not all happened. Features use only
    days up to the feature day. The grid does not move with the snapshot day, so the
    labelled rows change only when a new grid day's label completes (or late data touch
    them), and the trained model is kept until then (orchestration/model_store.py).

    Incremental: a feature day's row reads the days up to it and, for its label, the
    churn_horizon_days after it, so a run rebuilds the feature days from rebuild_from
    (the window's first day less lookback and horizon) through the snapshot day: a few
    grid days and the scoring day, not the whole history. -#}

{%- set every = var('churn_snapshot_every_days') | int %}
{%- set horizon = var('churn_horizon_days') | int %}
{%- set window = var('engagement_window_days') | int %}
{%- set churn = var('lifecycle_churn_days') | int %}
{%- set lookback = [2 * window, 2 * churn] | max %}
{#- the 7/30/90-day activity counts read further back than the other features -#}
{%- set counts_lookback = [lookback, 90] | max %}

with bounds as (
    select min(activity_date) as first_date, {{ snapshot_date() }} as snapshot_date
    from {{ ref('int_user_days') }}
),

feature_days as (
    select activity_date as feature_date
    from ({{ day_spine('(select first_date from bounds)', '(select snapshot_date from bounds)') }}) as d
    where {{ dbt.datediff("cast('1970-01-01' as date)", 'activity_date', 'day') }} % {{ every }} = 0
        or activity_date = (select snapshot_date from bounds)
),

rebuilt_days as (
    select feature_date
    from feature_days
    where feature_date >= {{ rebuild_from(horizon) }}
),

history as (
    select
        f.feature_date,
        ud.user_id,
        max(case when ud.is_active then ud.activity_date end) as last_active_date,
        sum(case when ud.is_active and ud.activity_date > {{ add_days('f.feature_date', -window) }}
            then 1 else 0 end) as active_days_cur,
        sum(case when ud.activity_date > {{ add_days('f.feature_date', -window) }}
            then ud.engagement_units else 0 end) as engagement_cur,
        sum(case when ud.activity_date <= {{ add_days('f.feature_date', -window) }}
            and ud.activity_date > {{ add_days('f.feature_date', -2 * window) }}
            then ud.engagement_units else 0 end) as engagement_prev,
        sum(case when ud.activity_date > {{ add_days('f.feature_date', -window) }}
            then ud.visits else 0 end) as visits_cur,
        sum(case when ud.activity_date > {{ add_days('f.feature_date', -window) }}
            then ud.revenue else 0 end) as revenue_cur,
        sum(case when ud.activity_date > {{ add_days('f.feature_date', -lookback) }}
            then ud.revenue else 0 end) as revenue_lookback,
        sum(case when ud.is_active and ud.activity_date > {{ add_days('f.feature_date', -7) }}
            then 1 else 0 end) as active_days_7,
        sum(case when ud.is_active and ud.activity_date > {{ add_days('f.feature_date', -30) }}
            then 1 else 0 end) as active_days_30,
        sum(case when ud.is_active then 1 else 0 end) as active_days_90,
        sum(ud.revenue) as revenue_90
    from rebuilt_days as f
    inner join {{ ref('int_user_days') }} as ud
        on ud.activity_date <= f.feature_date
        and ud.activity_date > {{ add_days('f.feature_date', -counts_lookback) }}
    group by f.feature_date, ud.user_id
),

{#- every active day numbered per user, with the active day before it: the BTYD summary
    (frequency, recency, T in active days) as of a feature day is read at the user's last
    active day up to it, which lies within the lookback for every user this model keeps -#}
active_running as (
    select
        user_id,
        activity_date,
        row_number() over (partition by user_id order by activity_date) as active_day_number,
        lag(activity_date) over (partition by user_id order by activity_date) as previous_active_date,
        min(activity_date) over (partition by user_id) as first_active_date
    from {{ ref('int_user_days') }}
    where is_active
),

returned as (
    select distinct f.feature_date, ud.user_id
    from rebuilt_days as f
    inner join {{ ref('int_user_days') }} as ud
        on ud.is_active
        and ud.activity_date > f.feature_date
        and ud.activity_date <= {{ add_days('f.feature_date', horizon) }}
)

select
    h.feature_date,
    h.user_id,
    {{ dbt.datediff('h.last_active_date', 'h.feature_date', 'day') }} as recency_days,
    {{ dbt.datediff('c.first_active_date', 'h.feature_date', 'day') }} as tenure_days,
    h.active_days_cur,
    h.engagement_cur,
    h.engagement_prev,
    {{ activity_tier('h.engagement_cur') }} as tier,
    h.visits_cur,
    h.revenue_cur,
    h.revenue_lookback,
    c.channel,
    h.feature_date = (select snapshot_date from bounds) as is_scoring_day,
    case
        when {{ add_days('h.feature_date', horizon) }} <= (select snapshot_date from bounds)
            then r.user_id is null
    end as is_churned,
    {#- added later: at the end, so older warehouses take them in place (nulls before) -#}
    cast(a.active_day_number - 1 as bigint) as frequency,
    cast({{ dbt.datediff('a.first_active_date', 'h.last_active_date', 'day') }} as bigint) as btyd_recency,
    cast({{ dbt.datediff('a.first_active_date', 'h.feature_date', 'day') }} as bigint) as btyd_t,
    cast({{ dbt.datediff('a.previous_active_date', 'h.last_active_date', 'day') }} as bigint) as last_gap_days,
    case when a.active_day_number > 1
        then cast({{ dbt.datediff('a.first_active_date', 'h.last_active_date', 'day') }} as double)
            / (a.active_day_number - 1) end as mean_gap_days,
    cast(h.active_days_7 as bigint) as active_days_7,
    cast(h.active_days_30 as bigint) as active_days_30,
    cast(h.active_days_90 as bigint) as active_days_90,
    case when h.active_days_90 > 0 then h.revenue_90 / h.active_days_90 else 0 end as monetary_value
from history as h
inner join {{ ref('int_user_cohorts') }} as c on h.user_id = c.user_id
inner join active_running as a on h.user_id = a.user_id and h.last_active_date = a.activity_date
left join returned as r on h.feature_date = r.feature_date and h.user_id = r.user_id
where h.last_active_date > {{ add_days('h.feature_date', -2 * churn) }}
