{#- Signups per day, acquisition channel and signup method (the users row's attribute
    signup_method; 'unknown' without one): how many, how many had visited before the day
    they signed up, and the median days from first visit to signup (docs/METRICS.md,
    "Events, ids and visitors"). -#}

select
    signup_date as activity_date,
    channel,
    signup_method,
    count(*) as signups,
    cast(sum(case when first_visit_date < signup_date then 1 else 0 end) as bigint) as signups_after_visit,
    {{ median('days_to_signup') }} as median_days_to_signup
from {{ ref('int_visitors') }}
where signup_date is not null
group by signup_date, channel, signup_method
