{#- Per acquisition channel and signup month (cohort_month null: all months):
    new users, D1/D7/D30 retention, paying conversion and revenue per new user
    within conversion_days, CAC and payback days when channel costs landed, and
    stability. Rates use the users whose day N (or whole conversion window) has
    elapsed on the snapshot day; null when there are none. -#}

{%- set conv = var('channel_conversion_days') | int %}
{%- set stab = var('channel_stability_window_days') | int %}

with snapshot as (
    select {{ snapshot_date() }} as snapshot_date
),

cohort as (
    select user_id, channel, signup_date, {{ period_start('month', 'signup_date') }} as cohort_month
    from {{ ref('int_user_cohorts') }}
    where signup_date is not null
),

scopes as (
    select user_id, channel, signup_date, cohort_month from cohort
    union all
    select user_id, channel, signup_date, null as cohort_month from cohort
),

per_user as (
    select
        c.user_id,
        c.signup_date,
        max(case when ud.is_active and ud.activity_date = {{ add_days('c.signup_date', 1) }} then 1 else 0 end) as active_d1,
        max(case when ud.is_active and ud.activity_date = {{ add_days('c.signup_date', 7) }} then 1 else 0 end) as active_d7,
        max(case when ud.is_active and ud.activity_date = {{ add_days('c.signup_date', 30) }} then 1 else 0 end) as active_d30,
        max(case when ud.paid_orders > 0
            and ud.activity_date <= {{ add_days('c.signup_date', conv - 1) }} then 1 else 0 end) as paid_in_window,
        coalesce(sum(case when ud.activity_date <= {{ add_days('c.signup_date', conv - 1) }}
            then ud.revenue end), 0) as revenue_in_window
    from cohort as c
    left join {{ ref('int_user_days') }} as ud
        on ud.user_id = c.user_id
        and ud.activity_date between c.signup_date and {{ add_days('c.signup_date', 30) }}
        and ud.activity_date <= (select snapshot_date from snapshot)
    group by c.user_id, c.signup_date
),

quality as (
    select
        s.channel,
        s.cohort_month,
        count(*) as new_users,
        avg(case when {{ add_days('u.signup_date', 1) }} <= (select snapshot_date from snapshot) then u.active_d1 end) as d1_retention,
        avg(case when {{ add_days('u.signup_date', 7) }} <= (select snapshot_date from snapshot) then u.active_d7 end) as d7_retention,
        avg(case when {{ add_days('u.signup_date', 30) }} <= (select snapshot_date from snapshot) then u.active_d30 end) as d30_retention,
        avg(case when {{ add_days('u.signup_date', conv - 1) }} <= (select snapshot_date from snapshot) then u.paid_in_window end) as paying_conversion,
        avg(case when {{ add_days('u.signup_date', conv - 1) }} <= (select snapshot_date from snapshot) then u.revenue_in_window end) as revenue_per_new_user
    from scopes as s
    inner join per_user as u on s.user_id = u.user_id
    group by s.channel, s.cohort_month
),

costs as (
    select channel, {{ period_start('month', 'cost_date') }} as cohort_month, sum(spend) as spend
    from {{ ref('stg_app__channel_costs') }}
    where cost_date <= (select snapshot_date from snapshot)
    group by channel, {{ period_start('month', 'cost_date') }}
),

costs_all as (
    select channel, cohort_month, spend from costs
    union all
    select channel, null as cohort_month, sum(spend) from costs group by channel
),

{#- cumulative revenue per new user by days since signup, for payback -#}
revenue_by_age as (
    select
        s.channel,
        s.cohort_month,
        {{ dbt.datediff('c.signup_date', 'ud.activity_date', 'day') }} as age_days,
        sum(ud.revenue) as revenue
    from scopes as s
    inner join cohort as c on s.user_id = c.user_id
    inner join {{ ref('int_user_days') }} as ud
        on ud.user_id = s.user_id and ud.activity_date >= c.signup_date
        and ud.activity_date <= (select snapshot_date from snapshot) and ud.revenue > 0
    group by s.channel, s.cohort_month, {{ dbt.datediff('c.signup_date', 'ud.activity_date', 'day') }}
),

cumulative as (
    select
        channel,
        cohort_month,
        age_days,
        sum(revenue) over (partition by channel, cohort_month order by age_days
            rows between unbounded preceding and current row) as cumulative_revenue
    from revenue_by_age
),

daily_new as (
    select d.activity_date, ch.channel, count(c.user_id) as new_users
    from ({{ day_spine(add_days('(select snapshot_date from snapshot)', 1 - stab), '(select snapshot_date from snapshot)') }}) as d
    cross join (select distinct channel from cohort) as ch
    left join cohort as c on c.channel = ch.channel and c.signup_date = d.activity_date
    group by d.activity_date, ch.channel
),

stability as (
    select
        channel,
        case when avg(new_users) > 0 then stddev_pop(new_users) / avg(new_users) end as new_users_cv
    from daily_new
    group by channel
),

with_cac as (
    select
        q.*,
        k.spend,
        case when k.spend is not null and q.new_users > 0 then k.spend / q.new_users end as cac
    from quality as q
    left join costs_all as k
        on q.channel = k.channel
        and (q.cohort_month = k.cohort_month or (q.cohort_month is null and k.cohort_month is null))
)

select
    w.channel,
    w.cohort_month,
    w.new_users,
    w.d1_retention,
    w.d7_retention,
    w.d30_retention,
    w.paying_conversion,
    w.revenue_per_new_user,
    w.spend,
    w.cac,
    cast((select min(cu.age_days) from cumulative as cu
        where cu.channel = w.channel
        and (cu.cohort_month = w.cohort_month or (cu.cohort_month is null and w.cohort_month is null))
        and w.cac is not null and cu.cumulative_revenue / w.new_users >= w.cac) as bigint)
        as payback_days,
    st.new_users_cv,
    case when st.new_users_cv < {{ var('channel_stable_max_cv') }} then 'stable' else 'unstable' end as stability
from with_cac as w
left join stability as st on w.channel = st.channel
