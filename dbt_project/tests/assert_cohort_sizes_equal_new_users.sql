{#- Every day cohort's size (period 0, all users) equals the users whose first active
    day it is: the retention triangle and the cohort table count the same people. Rows
    returned are failures. -#}
{#- attached to fct_retention_cohorts, so Dagster shows it as that table's check -#}
{{ config(meta={'dagster': {'ref': {'name': 'fct_retention_cohorts'}}}) }}
select
    c.cohort_period,
    c.cohort_size,
    coalesce(n.new_users, 0) as new_users
from {{ ref('fct_retention_cohorts') }} as c
left join (
    select cohort_date, count(*) as new_users
    from {{ ref('int_user_cohorts') }}
    group by cohort_date
) as n on n.cohort_date = c.cohort_period
where c.cohort_grain = 'day'
    and c.breakdown = 'all'
    and c.period_number = 0
    and c.cohort_size <> coalesce(n.new_users, 0)
