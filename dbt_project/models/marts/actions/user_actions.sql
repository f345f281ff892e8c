{{ config(tags=['scored']) }}

{#- The team's worklist as of the snapshot day: one row per user and playbook action,
    from every layer the user is in (lifecycle stage, activity tier, churn risk band, RFM
    rfm11 and cn8 segments, core / angel / evangelist), joined to the editable playbook
    seed rfm_segment_actions (scheme, segment). reason names the layer with its numbers;
    expected_value is the revenue at risk (churn probability x CLV over the long horizon)
    for the churn-risk and declining / churned rows, else the CLV, null where no CLV was
    fitted. Closing the loop: action_key (scheme:segment), the suggested channel, the
    stable action_id and the assignment (holdout by a hash of user, action key and
    assignment period against loop_holdout_share: never to be contacted); once an action
    has a measured effect (fct_action_outcomes, the first outcome window, every week and
    channel), its return uplift, verdict and expected_incremental_value (the revenue uplift
    per user). Order of the day (queue_rank, and action_rank within a user): playbook
    priority (1 first), then actions measured not to work (no effect, harmful) last, then
    the measured incremental value (high first, where known), then expected value (high
    first), then churn probability. -#}

{%- set w = var('engagement_window_days') | int %}

{#- R, F and M as scored (user_rfm: the configured sources, paid orders by default) -#}
{%- set rfm_numbers -%}
'R ' || coalesce(cast(rfm_recency_days as string), '?') || ' days, F '
            || coalesce(cast(rfm_frequency as string), '?') || ', M '
            || coalesce(cast(round(rfm_monetary, 2) as string), '?')
{%- endset %}

with users as (
    select
        d.*,
        cast({{ dbt.datediff('d.last_active_date', 'd.snapshot_date', 'day') }} as bigint) as idle_days,
        cast({{ dbt.datediff('d.last_purchase_date', 'd.snapshot_date', 'day') }} as bigint) as purchase_idle_days,
        c.clv_long,
        rf.recency_days as rfm_recency_days,
        rf.frequency as rfm_frequency,
        rf.monetary as rfm_monetary,
        nullif(wn.signals, '') as warning_signals
    from {{ ref('dim_users') }} as d
    left join {{ source('marts', 'user_clv') }} as c on d.user_id = c.user_id
    left join {{ source('marts', 'user_rfm') }} as rf on d.user_id = rf.user_id
    left join {{ ref('fct_churn_warnings') }} as wn on d.user_id = wn.user_id
),

layers as (
    select user_id, 'lifecycle' as scheme, lifecycle_stage as segment, 1 as scheme_order,
        'lifecycle ' || lifecycle_stage || ': last active '
            || coalesce(cast(idle_days as string) || ' days ago', 'never')
            || ', engagement index ' || coalesce(cast(engagement_index as string), '0')
            || coalesce('; ' || warning_signals, '') as reason
    from users where lifecycle_stage is not null
    union all
    select user_id, 'churn_risk', risk_band, 0,
        'churn risk ' || risk_band || ': probability '
            || coalesce(cast(round(churn_probability, 2) as string), 'n/a')
            || coalesce('; ' || warning_signals, '')
    from users where risk_band is not null
    union all
    select user_id, 'tier', activity_tier, 4,
        'activity tier ' || activity_tier || ': ' || coalesce(cast(engagement_index as string), '0')
            || ' engaged visits in the last {{ w }} days'
    from users where activity_tier is not null
    union all
    select user_id, 'rfm11', rfm11_segment, 2,
        'RFM ' || rfm11_segment || ' (score ' || coalesce(cast(rfm_score as string), '?')
            || '): ' || {{ rfm_numbers }}
    from users where rfm11_segment is not null
    union all
    select user_id, 'cn8', cn8_segment, 3,
        'RFM ' || cn8_segment || ': ' || {{ rfm_numbers }}
    from users where cn8_segment is not null
    union all
    select user_id, 'special', 'core', 5,
        'core user: active in each of the last {{ var("special_core_active_weeks") }} weeks, engagement index '
            || coalesce(cast(engagement_index as string), '0')
    from users where is_core_user
    union all
    select user_id, 'special', 'angel', 5,
        'angel user: very active (tier high scaled to the window) or a purchase within {{ var("special_angel_days") }} days of the first visit'
    from users where is_angel_user
    union all
    select user_id, 'special', 'evangelist', 5,
        'evangelist: referred ' || coalesce(cast(referred_users as string), '0') || ' users, still active'
    from users where is_evangelist
),

valued as (
    select
        u.snapshot_date,
        l.user_id,
        l.scheme,
        l.segment,
        l.scheme || ':' || l.segment as action_key,
        p.channel,
        l.scheme_order,
        p.segment_name_zh,
        p.segment_name_en,
        p.goal,
        p.action,
        p.priority,
        l.reason,
        case
            when l.scheme = 'churn_risk' or (l.scheme = 'lifecycle' and l.segment in ('declining', 'churned'))
                then 'revenue_at_risk'
            when u.clv_long is not null then 'clv'
        end as value_kind,
        case
            when l.scheme = 'churn_risk' or (l.scheme = 'lifecycle' and l.segment in ('declining', 'churned'))
                then coalesce(u.churn_probability, 1.0) * u.clv_long
            else u.clv_long
        end as expected_value,
        u.churn_probability
    from layers as l
    inner join users as u on l.user_id = u.user_id
    inner join {{ ref('rfm_segment_actions') }} as p
        on p.scheme = l.scheme and p.segment = l.segment
),

measured as (
    select action_key, return_uplift, verdict, revenue_uplift
    from {{ source('marts', 'fct_action_outcomes') }}
    where cohort_week is null and channel = 'all'
        and outcome_days = {{ var('loop_outcome_days')[0] }}
),

assigned as (
    select
        v.*,
        {{ assignment_period('v.snapshot_date') }} as assignment_period,
        m.return_uplift as measured_return_uplift,
        m.verdict as measured_verdict,
        case when m.verdict in ('works', 'no effect', 'harmful') then m.revenue_uplift end
            as expected_incremental_value
    from valued as v
    left join measured as m on v.action_key = m.action_key
),

keyed as (
    select
        assigned.*,
        {{ unit_text('user_id', 'action_key', 'assignment_period') }} as unit_text
    from assigned
)

select
    snapshot_date,
    user_id,
    scheme,
    segment,
    action_key,
    substr(md5(unit_text), 1, 16) as action_id,
    assignment_period,
    case when {{ unit_hash('unit_text') }} < {{ var('loop_holdout_share') }}
        then 'holdout' else 'treatment' end as assignment,
    channel,
    segment_name_zh,
    segment_name_en,
    goal,
    action,
    priority,
    reason,
    case when expected_value is not null then value_kind end as value_kind,
    expected_value,
    churn_probability,
    measured_return_uplift,
    measured_verdict,
    expected_incremental_value,
    cast(row_number() over (
        partition by user_id
        order by priority, {{ not_working('measured_verdict') }},
            expected_incremental_value desc nulls last, expected_value desc nulls last,
            scheme_order, segment
    ) as bigint) as action_rank,
    cast(row_number() over (
        order by priority, {{ not_working('measured_verdict') }},
            expected_incremental_value desc nulls last, expected_value desc nulls last,
            churn_probability desc nulls last, user_id, scheme_order, segment
    ) as bigint) as queue_rank
from keyed
