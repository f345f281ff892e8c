{#- Product stage per complete month (docs/METRICS.md), from monthly growth
    accounting: introduction while fewer than introduction_periods months of
    history (this one included); decline when new-user ratio < churn rate in
    this and the decline_periods - 1 months before; growth when active users
    grew by more than growth_rate; mature otherwise. An incomplete month gets
    no verdict. -#}

{%- set n_decline = var('stage_decline_periods') | int %}

with months as (
    select
        period_start,
        is_complete,
        active_users,
        active_users_previous,
        new_user_ratio,
        churn_rate,
        cast(row_number() over (order by period_start) as bigint) as months_of_history,
        case when coalesce(new_user_ratio, 0) < coalesce(churn_rate, 0) then 1 else 0 end as shrinking
    from {{ ref('fct_growth_accounting') }}
    where grain = 'month'
),

indicators as (
    select
        *,
        sum(shrinking) over (order by period_start rows between {{ n_decline - 1 }} preceding and current row)
            as shrinking_in_a_row,
        case when active_users_previous > 0
            then cast(active_users as double) / active_users_previous - 1 end as active_growth
    from months
)

select
    period_start as month_start,
    is_complete,
    months_of_history,
    active_users,
    active_users_previous,
    new_user_ratio,
    churn_rate,
    active_growth,
    case
        when not is_complete then null
        when months_of_history < {{ var('stage_introduction_periods') | int }} then 'introduction'
        when shrinking_in_a_row >= {{ n_decline }} then 'decline'
        when active_growth > {{ var('stage_growth_rate') }} then 'growth'
        else 'mature'
    end as product_stage
from indicators
