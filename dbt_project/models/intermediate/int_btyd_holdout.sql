{#- The BTYD evaluation set: the purchase summary as of calibration_end = snapshot -
    churn_holdout_days, and whether each customer bought in the holdout
    (calibration_end, snapshot]. Empty while the history is shorter than the holdout. -#}

{%- set calibration_end = add_days(snapshot_date(), -1 * (var('churn_holdout_days') | int)) %}

with calibration as (
    {{ purchase_summary(calibration_end) }}
),

holdout as (
    select user_id, count(*) as holdout_purchase_days
    from {{ ref('int_user_days') }}
    where paid_orders > 0
        and activity_date > {{ calibration_end }}
        and activity_date <= {{ snapshot_date() }}
    group by user_id
)

select
    {{ calibration_end }} as calibration_end,
    {{ snapshot_date() }} as snapshot_date,
    c.user_id,
    c.frequency,
    c.recency,
    c.T,
    c.monetary_value,
    cast(coalesce(h.holdout_purchase_days, 0) as bigint) as holdout_purchase_days
from calibration as c
left join holdout as h on c.user_id = h.user_id
