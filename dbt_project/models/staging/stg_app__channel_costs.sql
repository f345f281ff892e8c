with source as (
    select * from {{ source('raw', 'channel_costs') }}
)

select
    cast({{ adapter.quote('date') }} as date) as cost_date,
    lower(trim(channel)) as channel,
    spend
from source
