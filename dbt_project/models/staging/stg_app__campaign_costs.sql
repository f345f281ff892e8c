with source as (
    select * from {{ source('raw', 'campaign_costs') }}
)

select
    campaign_id,
    cast({{ adapter.quote('date') }} as date) as cost_date,
    spend
from source
