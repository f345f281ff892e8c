{#- AARRR per signup month, a strict funnel (each step counts users who also
    reached every step before it). Day 1 is the signup day. acquisition: signed
    up; activation: the activation event (default: any engaged visit) within
    activation_days; retention: active on a day from retention_from_day to
    retention_to_day; revenue: a paid order within revenue_days; referral:
    referred at least one user. is_complete when every member's windows have
    elapsed on the snapshot day. -#}

-- depends_on: {{ ref('int_events') }} (whatever funnel.activation_event says)

{%- set act_days = var('funnel_activation_days') | int %}
{%- set r_from = var('funnel_retention_from_day') | int %}
{%- set r_to = var('funnel_retention_to_day') | int %}
{%- set rev_days = var('funnel_revenue_days') | int %}
{%- set event = var('funnel_activation_event') %}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

cohort as (
    select user_id, signup_date, {{ period_start('month', 'signup_date') }} as cohort_month
    from {{ ref('int_user_cohorts') }}
    where signup_date is not null
),

{% if event is not none -%}
activation_events as (
    select distinct e.user_id
    from {{ ref('int_events') }} as e
    inner join cohort as c on e.user_id = c.user_id
    where e.event_name = {{ sql_string(event) }}
        and e.activity_date between c.signup_date and {{ add_days('c.signup_date', act_days - 1) }}
        and e.activity_date <= (select snapshot_date from snapshot)
),
{%- endif %}

referrers as (
    select distinct referrer_user_id as user_id
    from {{ ref('int_user_cohorts') }}
    where referrer_user_id is not null
),

steps as (
    select
        c.user_id,
        c.cohort_month,
        {% if event is not none -%}
        max(case when a.user_id is not null then 1 else 0 end)
        {%- else -%}
        max(case when ud.engaged_visits > 0
            and ud.activity_date <= {{ add_days('c.signup_date', act_days - 1) }} then 1 else 0 end)
        {%- endif %} as activated,
        max(case when ud.is_active and ud.activity_date between {{ add_days('c.signup_date', r_from - 1) }}
            and {{ add_days('c.signup_date', r_to - 1) }} then 1 else 0 end) as retained,
        max(case when ud.paid_orders > 0
            and ud.activity_date <= {{ add_days('c.signup_date', rev_days - 1) }} then 1 else 0 end) as paid,
        max(case when r.user_id is not null then 1 else 0 end) as referred
    from cohort as c
    left join {{ ref('int_user_days') }} as ud
        on ud.user_id = c.user_id
        and ud.activity_date between c.signup_date and {{ add_days('c.signup_date', [act_days, r_to, rev_days] | max - 1) }}
        and ud.activity_date <= (select snapshot_date from snapshot)
    {% if event is not none -%}
    left join activation_events as a on a.user_id = c.user_id
    {%- endif %}
    left join referrers as r on r.user_id = c.user_id
    group by c.user_id, c.cohort_month
),

counts as (
    select
        cohort_month,
        count(*) as acquisition,
        sum(activated) as activation,
        sum(activated * retained) as retention,
        sum(activated * retained * paid) as revenue,
        sum(activated * retained * paid * referred) as referral,
        max(cohort_month) as m
    from steps
    group by cohort_month
),

long as (
    select cohort_month, 1 as step_number, 'acquisition' as step, acquisition as users, null as previous_users, acquisition as first_users from counts
    union all
    select cohort_month, 2, 'activation', activation, acquisition, acquisition from counts
    union all
    select cohort_month, 3, 'retention', retention, activation, acquisition from counts
    union all
    select cohort_month, 4, 'revenue', revenue, retention, acquisition from counts
    union all
    select cohort_month, 5, 'referral', referral, revenue, acquisition from counts
)

select
    cohort_month,
    step_number,
    step,
    cast(users as bigint) as users,
    case when previous_users > 0 then cast(users as double) / previous_users end as conversion_from_previous,
    case when first_users > 0 then cast(users as double) / first_users end as conversion_from_acquisition,
    {{ add_days(add_days(shift_period("'month'", 1, 'cohort_month'), -1), [act_days, r_to, rev_days] | max - 1) }}
        <= (select snapshot_date from snapshot) as is_complete
from long
