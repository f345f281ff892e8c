{#- Per reporting day: GMV gross (paid and refunded orders), refunds, GMV net, paying
    users, ARPU (net / active users), ARPPU (net / paying users), paying conversion
    (paying / active), and the first-purchase conversion of the day's new cohort within
    value_conversion_days (null until that window has elapsed). The contract carries one
    row per order with its final status and no refund time, so a refund subtracts on the
    order's day. -#}

{%- set conv = var('value_conversion_days') | int %}

with bounds as (
    select min(activity_date) as first_date, {{ snapshot_date() }} as snapshot_date
    from {{ ref('int_user_days') }}
),

spine as (
    {{ day_spine('(select first_date from bounds)', '(select snapshot_date from bounds)') }}
),

orders as (
    select
        order_date as activity_date,
        sum(case when status in ('paid', 'refunded') then amount else 0 end) as gmv_gross,
        sum(case when status = 'refunded' then amount else 0 end) as refunds,
        cast(sum(case when is_paid then 1 else 0 end) as bigint) as paid_orders,
        cast(sum(case when status = 'refunded' then 1 else 0 end) as bigint) as refunded_orders,
        count(distinct case when is_paid then user_id end) as paying_users
    from {{ ref('stg_app__orders') }}
    where order_date <= (select snapshot_date from bounds)
    group by order_date
),

active as (
    select activity_date, count(*) as active_users
    from {{ ref('int_user_days') }}
    where is_active and activity_date <= (select snapshot_date from bounds)
    group by activity_date
),

cohorts as (
    select
        c.cohort_date as activity_date,
        count(*) as new_users,
        sum(case when f.first_purchase_date between c.cohort_date
            and {{ add_days('c.cohort_date', conv - 1) }} then 1 else 0 end) as converted_users
    from {{ ref('int_user_cohorts') }} as c
    left join {{ ref('dim_user_purchase_summary') }} as f on c.user_id = f.user_id
    group by c.cohort_date
)

select
    s.activity_date,
    coalesce(o.gmv_gross, 0) as gmv_gross,
    coalesce(o.refunds, 0) as refunds,
    coalesce(o.gmv_gross, 0) - coalesce(o.refunds, 0) as gmv_net,
    coalesce(o.paid_orders, 0) as paid_orders,
    coalesce(o.refunded_orders, 0) as refunded_orders,
    coalesce(o.paying_users, 0) as paying_users,
    coalesce(a.active_users, 0) as active_users,
    (coalesce(o.gmv_gross, 0) - coalesce(o.refunds, 0)) / nullif(a.active_users, 0) as arpu,
    (coalesce(o.gmv_gross, 0) - coalesce(o.refunds, 0)) / nullif(o.paying_users, 0) as arppu,
    cast(coalesce(o.paying_users, 0) as double) / nullif(a.active_users, 0) as paying_conversion,
    coalesce(c.new_users, 0) as new_users,
    case when {{ add_days('s.activity_date', conv - 1) }} <= (select snapshot_date from bounds)
        then cast(c.converted_users as double) / nullif(c.new_users, 0)
    end as first_purchase_conversion
from spine as s
left join orders as o on s.activity_date = o.activity_date
left join active as a on s.activity_date = a.activity_date
left join cohorts as c on s.activity_date = c.activity_date
