{{ config(tags=['scored']) }}

{#- Churn warning (流失预警), as of the snapshot day: one row per user at medium or high
    churn risk or in the declining stage, with each warning signal, whether it fired and
    the numbers behind it (docs/METRICS.md "Churn warning"; thresholds warnings.* in the
    config). cur = the engagement window ending on the snapshot day, prev = the one before.
    A user in scope may have no signal fired (the model's risk alone put them here). -#}

{%- set w = var('engagement_window_days') | int %}
{%- set tier_days = var('warning_tier_compare_days') | int %}
{%- set gap_days = var('warning_gap_history_days') | int %}

with snapshot as (
    select max(snapshot_date) as snapshot_date from {{ ref('dim_users') }}
),

scope as (
    select
        user_id, snapshot_date, lifecycle_stage, activity_tier, risk_band, churn_probability,
        engagement_index, last_active_date
    from {{ ref('dim_users') }}
    where risk_band in ('medium', 'high') or lifecycle_stage = 'declining'
),

engagement_prev as (
    select user_id, engagement_index
    from {{ ref('fct_user_engagement_daily') }}
    where activity_date = (select {{ add_days('snapshot_date', -w) }} from snapshot)
),

tier_before as (
    select user_id, activity_tier
    from {{ ref('fct_user_engagement_daily') }}
    where activity_date = (select {{ add_days('snapshot_date', -tier_days) }} from snapshot)
),

active_days as (
    select
        user_id,
        activity_date,
        lag(activity_date) over (partition by user_id order by activity_date) as previous_date
    from {{ ref('int_user_days') }}
    where is_active
        and activity_date > (select {{ add_days('snapshot_date', -gap_days) }} from snapshot)
        and activity_date <= (select snapshot_date from snapshot)
),

usual_gap as (
    select
        user_id,
        count(*) as gaps,
        {{ median(dbt.datediff('previous_date', 'activity_date', 'day')) }} as usual_gap_days
    from active_days
    where previous_date is not null
    group by user_id
),

key_event_counts as (
    {#- the window bounds come from a join, not subqueries inside the aggregates (Spark) -#}
    select
        e.user_id,
        e.event_name,
        cast(sum(case when e.activity_date > {{ add_days('s.snapshot_date', -w) }} then 1 else 0 end) as bigint) as cur_count,
        cast(sum(case when e.activity_date <= {{ add_days('s.snapshot_date', -w) }} then 1 else 0 end) as bigint) as prev_count
    from {{ ref('int_events') }} as e
    cross join snapshot as s
    where e.is_key_event
        and e.activity_date > {{ add_days('s.snapshot_date', -2 * w) }}
        and e.activity_date <= s.snapshot_date
    group by e.user_id, e.event_name
),

stopped_event as (
    {#- the most frequent key event of prev that cur lacks (ties: first by name) -#}
    select user_id, event_name, prev_count
    from (
        select
            user_id, event_name, prev_count,
            row_number() over (partition by user_id order by prev_count desc, event_name) as pick
        from key_event_counts
        where cur_count = 0 and prev_count >= {{ var('warning_key_event_min_count') | int }}
    ) as ranked
    where pick = 1
),

visit_lengths as (
    select
        v.user_id,
        {{ median("case when v.activity_date > " ~ add_days('s.snapshot_date', -w) ~ " then v.duration_s end") }} / 60.0 as cur_minutes,
        {{ median("case when v.activity_date <= " ~ add_days('s.snapshot_date', -w) ~ " then v.duration_s end") }} / 60.0 as prev_minutes,
        cast(sum(case when v.activity_date > {{ add_days('s.snapshot_date', -w) }} then 1 else 0 end) as bigint) as cur_visits,
        cast(sum(case when v.activity_date <= {{ add_days('s.snapshot_date', -w) }} then 1 else 0 end) as bigint) as prev_visits
    from {{ ref('int_sessions') }} as v
    cross join snapshot as s
    where not v.is_bounced
        and v.activity_date > {{ add_days('s.snapshot_date', -2 * w) }}
        and v.activity_date <= s.snapshot_date
    group by v.user_id
),

measured as (
    select
        s.snapshot_date,
        s.user_id,
        s.lifecycle_stage,
        s.risk_band,
        s.churn_probability,
        case
            when s.risk_band in ('medium', 'high') and s.lifecycle_stage = 'declining'
                then s.risk_band || ' risk, declining'
            when s.risk_band in ('medium', 'high') then s.risk_band || ' risk'
            else 'declining'
        end as in_scope_because,
        s.engagement_index as engagement_cur,
        coalesce(ep.engagement_index, 0) as engagement_prev,
        cast({{ dbt.datediff('s.last_active_date', 's.snapshot_date', 'day') }} as bigint) as idle_days,
        g.usual_gap_days,
        cast(coalesce(g.gaps, 0) as bigint) as gaps,
        coalesce(tb.activity_tier, 'none') as tier_before,
        s.activity_tier as tier_now,
        se.event_name as stopped_event,
        se.prev_count as stopped_event_prev_count,
        v.cur_minutes as visit_minutes_cur,
        v.prev_minutes as visit_minutes_prev,
        coalesce(v.cur_visits, 0) as visits_cur,
        coalesce(v.prev_visits, 0) as visits_prev,
        case when p.frequency > 0
            then cast(p.T - p.recency as bigint) end as days_since_purchase,
        case when p.frequency > 0
            then cast(p.recency as double) / p.frequency end as usual_purchase_gap_days
    from scope as s
    left join engagement_prev as ep on s.user_id = ep.user_id
    left join tier_before as tb on s.user_id = tb.user_id
    left join usual_gap as g on s.user_id = g.user_id
    left join stopped_event as se on s.user_id = se.user_id
    left join visit_lengths as v on s.user_id = v.user_id
    left join {{ ref('dim_user_purchase_summary') }} as p on s.user_id = p.user_id
),

fired as (
    select
        *,
        coalesce(engagement_prev > 0
            and engagement_cur < {{ var('warning_engagement_drop_ratio') }} * engagement_prev, false)
            as engagement_dropped,
        coalesce(gaps >= {{ var('warning_min_gaps') | int }}
            and idle_days > {{ var('warning_idle_gap_factor') }} * usual_gap_days, false)
            as idle_longer_than_usual,
        {{ tier_rank('tier_now') }} < {{ tier_rank('tier_before') }} as tier_dropped,
        stopped_event is not null as key_event_stopped,
        coalesce(visits_prev >= {{ var('warning_min_visits') | int }} and visits_cur > 0
            and visit_minutes_cur < {{ var('warning_shorter_visit_ratio') }} * visit_minutes_prev, false)
            as visits_shorter,
        coalesce(days_since_purchase > {{ var('warning_purchase_overdue_factor') }} * usual_purchase_gap_days,
            false) as purchase_overdue
    from measured
)

select
    *,
    cast(case when engagement_dropped then 1 else 0 end
        + case when idle_longer_than_usual then 1 else 0 end
        + case when tier_dropped then 1 else 0 end
        + case when key_event_stopped then 1 else 0 end
        + case when visits_shorter then 1 else 0 end
        + case when purchase_overdue then 1 else 0 end as bigint) as signals_fired,
    concat_ws('; ',
        case when engagement_dropped then 'engagement dropped: '
            || cast(engagement_cur as string) || ' engaged visits in the last {{ w }} days vs '
            || cast(engagement_prev as string) || ' before' end,
        case when idle_longer_than_usual then 'idle ' || cast(idle_days as string)
            || ' days, usually ' || cast(round(usual_gap_days, 1) as string) || ' between visits' end,
        case when tier_dropped then 'tier dropped: ' || tier_before || ' -> ' || tier_now
            || ' in {{ tier_days }} days' end,
        case when key_event_stopped then 'stopped ' || stopped_event || ': '
            || cast(stopped_event_prev_count as string) || ' times in the previous {{ w }} days, none since' end,
        case when visits_shorter then 'visits shorter: median '
            || cast(round(visit_minutes_cur, 1) as string) || ' min vs '
            || cast(round(visit_minutes_prev, 1) as string) || ' min before' end,
        case when purchase_overdue then 'purchase overdue: ' || cast(days_since_purchase as string)
            || ' days since the last, usually every ' || cast(round(usual_purchase_gap_days, 1) as string) end
    ) as signals
from fired
