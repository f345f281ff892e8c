{#- Closing the loop: one row per unit of the measured comparison, a user × action key ×
    assignment period that the team landed in contacts (treated, or held out and
    withheld). Its group is its first contact row's; first_contact_date is that row's
    day. For each window N of loop_outcome_days, from the day after the first contact
    through day +N: returned_N (an active day), converted_N (a paid order), revenue_N
    (paid revenue); window_complete_N once day +N is built (the snapshot day).
    Intent-to-treat: a treated unit counts whether the message was delivered or not.
    Contact rows with an issue (int_contact_issues) are left out, except a contacted
    holdout user, who stays in the holdout (the comparison stays randomised) and is
    counted there. -#}

{%- set windows = var('loop_outcome_days') %}
{%- set longest = windows | max %}

with contacts as (
    select * from {{ ref('int_contact_issues') }}
    where issue is null or issue = 'holdout_contacted'
),

keyed as (
    select
        c.*,
        {{ assignment_period('c.contact_date') }} as assignment_period
    from contacts as c
),

ranked as (
    select
        keyed.*,
        row_number() over (
            partition by user_id, action_key, assignment_period order by sent_at, contact_id
        ) as contact_number
    from keyed
),

units as (
    select
        f.user_id,
        f.action_key,
        f.assignment_period,
        f.assignment,
        f.channel,
        f.contact_date as first_contact_date,
        a.contact_rows,
        a.contacted,
        a.cost
    from ranked as f
    inner join (
        select user_id, action_key, assignment_period, count(*) as contact_rows,
            max(case when is_contacted then 1 else 0 end) = 1 as contacted,
            sum(cost) as cost
        from ranked
        group by user_id, action_key, assignment_period
    ) as a
        on f.user_id = a.user_id and f.action_key = a.action_key
        and f.assignment_period = a.assignment_period
    where f.contact_number = 1
),

after as (
    select
        u.user_id, u.action_key, u.assignment_period,
        {{ dbt.datediff('u.first_contact_date', 'd.activity_date', 'day') }} as day_number,
        d.is_active, d.paid_orders, d.revenue
    from units as u
    inner join {{ ref('int_user_days') }} as d
        on d.user_id = u.user_id
        and d.activity_date > u.first_contact_date
        and d.activity_date <= {{ add_days('u.first_contact_date', longest) }}
)

select
    u.*,
    {%- for n in windows %}
    {{ add_days('u.first_contact_date', n) }} <= {{ snapshot_date() }} as window_complete_{{ n }},
    coalesce(max(case when a.day_number <= {{ n }} and a.is_active then 1 else 0 end), 0) = 1
        as returned_{{ n }},
    coalesce(max(case when a.day_number <= {{ n }} and a.paid_orders > 0 then 1 else 0 end), 0) = 1
        as converted_{{ n }},
    coalesce(sum(case when a.day_number <= {{ n }} then a.revenue else 0 end), 0) as revenue_{{ n }}{{ "," if not loop.last }}
    {%- endfor %}
from units as u
left join after as a
    on a.user_id = u.user_id and a.action_key = u.action_key
    and a.assignment_period = u.assignment_period
group by u.user_id, u.action_key, u.assignment_period, u.assignment, u.channel,
    u.first_contact_date, u.contact_rows, u.contacted, u.cost
