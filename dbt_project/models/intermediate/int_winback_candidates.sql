{{ config(materialized='view', tags=['scored']) }}

{#- Every scored user with what the win-back ranking needs (docs/METRICS.md, "Win-back
    list"): the churn probability and risk band, the probability of return
    (1 - churn probability), the value (CLV over the long horizon for the buyers the BTYD
    model covers, else lifetime revenue, else 0), and the RFM segments with their actions.
    The ranking itself is Python (models/churn.py winback_list, asset user_winback). Built
    after the Python scores (tag scored). -#}

select
    s.snapshot_date,
    s.user_id,
    s.risk_band,
    s.churn_probability,
    1 - s.churn_probability as p_return,
    s.recency_days,
    coalesce(c.clv_long, p.revenue, 0) as value,
    coalesce(p.revenue, 0) as lifetime_revenue,
    r.rfm11_segment,
    r.rfm11_segment_zh,
    r.rfm11_action,
    r.cn8_segment,
    r.cn8_segment_zh,
    r.cn8_action
from {{ source('marts', 'user_churn_scores') }} as s
left join {{ source('marts', 'user_clv') }} as c on s.user_id = c.user_id
left join {{ ref('dim_user_purchase_summary') }} as p on s.user_id = p.user_id
left join {{ source('marts', 'user_rfm') }} as r on s.user_id = r.user_id
