with source as (
    select * from {{ source('raw', 'orders') }}
)

select
    order_id,
    user_id,
    {{ to_utc_timestamp('order_time') }} as order_at,
    {{ to_reporting_date(to_utc_timestamp('order_time')) }} as order_date,
    amount,
    coalesce(upper(currency), 'USD') as currency,
    status,
    status = 'paid' as is_paid
from source
