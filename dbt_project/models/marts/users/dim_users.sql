{{ config(tags=['scored']) }}

{#- One row per user known on the snapshot day: signup, channel, first and last active
    day, tenure, lifecycle stage and activity tier, lifetime paid orders and revenue, RFM
    segments, churn risk, and the special-user flags of docs/METRICS.md with thresholds from
    the config (special_*). Built after the Python scores (tag scored). -#}

{%- set weeks = var('special_core_active_weeks') | int %}
{%- set angel_days = var('special_angel_days') | int %}
{#- Angel: tier high's bar scaled to the angel window (12 units over 28 days is 3 over 7
    days): the first days hold fewer days of activity than the tier's window. -#}
{%- set angel_min = ((var('tier_high_min') | int) * angel_days / (var('engagement_window_days') | int)) | round(0, 'ceil') | int %}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

stage as (
    select user_id, lifecycle_stage
    from {{ ref('fct_user_lifecycle_spans') }}
    where (select snapshot_date from snapshot) between valid_from and valid_to
),

{#- core: active in each of the last `weeks` 7-day blocks ending on the snapshot day -#}
recent_weeks as (
    select
        user_id,
        count(distinct floor({{ dbt.datediff('activity_date', '(select snapshot_date from snapshot)', 'day') }} / 7)) as active_weeks,
        sum(case when activity_date > {{ add_days('(select snapshot_date from snapshot)', -30) }}
            then revenue else 0 end) as spend_30d
    from {{ ref('int_user_days') }}
    where (is_active or revenue <> 0)
        and activity_date <= (select snapshot_date from snapshot)
        and activity_date > {{ add_days('(select snapshot_date from snapshot)', -7 * weeks) }}
    group by user_id
),

{#- visit length from visits that were not bounces: a bounce says nothing of how long a
    user stays -#}
recent_visits as (
    select user_id, {{ median('duration_s') }} / 60.0 as median_visit_minutes
    from {{ ref('int_sessions') }}
    where not is_bounced
        and activity_date <= (select snapshot_date from snapshot)
        and activity_date > {{ add_days('(select snapshot_date from snapshot)', -7 * weeks) }}
    group by user_id
),

early as (
    select
        c.user_id,
        max(e.engagement_index) as early_max_engagement,
        max(case when ud.paid_orders > 0 then 1 else 0 end) as early_purchase
    from {{ ref('int_user_cohorts') }} as c
    left join {{ ref('fct_user_engagement_daily') }} as e
        on e.user_id = c.user_id
        and e.activity_date between c.first_active_date and {{ add_days('c.first_active_date', angel_days - 1) }}
        and e.activity_date <= (select snapshot_date from snapshot)
    left join {{ ref('int_user_days') }} as ud
        on ud.user_id = c.user_id
        and ud.activity_date between c.first_active_date and {{ add_days('c.first_active_date', angel_days - 1) }}
        and ud.activity_date <= (select snapshot_date from snapshot)
    where c.first_active_date is not null
    group by c.user_id
),

{#- the spend bar applies where spend data exist: a product without orders has no spend -#}
spend_data as (
    select count(*) > 0 as has_orders
    from (select 1 as one from {{ ref('stg_app__orders') }} limit 1) as o
),

referrals as (
    select referrer_user_id as user_id, count(*) as referred_users
    from {{ ref('int_user_cohorts') }}
    where referrer_user_id is not null
    group by referrer_user_id
)

select
    (select snapshot_date from snapshot) as snapshot_date,
    c.user_id,
    c.signup_date,
    c.cohort_date,
    c.channel,
    c.platform as first_platform,
    c.referrer_user_id,
    e.first_active_date,
    e.last_active_date,
    cast({{ dbt.datediff('c.cohort_date', '(select snapshot_date from snapshot)', 'day') }} as bigint) as tenure_days,
    st.lifecycle_stage,
    e.activity_tier,
    e.engagement_index,
    coalesce(p.paid_orders, 0) as lifetime_paid_orders,
    coalesce(p.revenue, 0) as lifetime_revenue,
    p.first_purchase_date,
    p.last_purchase_date,
    r.rfm_score,
    r.rfm11_segment,
    r.cn8_segment,
    k.churn_probability,
    k.risk_band,
    coalesce(rf.referred_users, 0) as referred_users,
    su.attributes,
    coalesce(w.active_weeks, 0) = {{ weeks }}
        and coalesce(v.median_visit_minutes, 0) >= {{ var('special_core_min_median_visit_minutes') }}
        and (not (select has_orders from spend_data)
            or (coalesce(w.spend_30d, 0) > 0
                and coalesce(w.spend_30d, 0) >= {{ var('special_core_min_spend_30d') }})) as is_core_user,
    coalesce(ea.early_max_engagement, 0) >= {{ angel_min }}
        or coalesce(ea.early_purchase, 0) = 1 as is_angel_user,
    {#- still loyal: active in each of the last weeks, as a core user -#}
    coalesce(rf.referred_users, 0) >= {{ var('special_evangelist_min_referrals') | int }}
        and coalesce(w.active_weeks, 0) = {{ weeks }} as is_evangelist
from {{ ref('int_user_cohorts') }} as c
left join {{ ref('dim_user_engagement') }} as e on c.user_id = e.user_id
left join stage as st on c.user_id = st.user_id
left join {{ ref('dim_user_purchase_summary') }} as p on c.user_id = p.user_id
left join {{ source('marts', 'user_rfm') }} as r on c.user_id = r.user_id
left join {{ source('marts', 'user_churn_scores') }} as k on c.user_id = k.user_id
left join recent_weeks as w on c.user_id = w.user_id
left join recent_visits as v on c.user_id = v.user_id
left join early as ea on c.user_id = ea.user_id
left join referrals as rf on c.user_id = rf.user_id
left join {{ ref('stg_app__users') }} as su on c.user_id = su.user_id
