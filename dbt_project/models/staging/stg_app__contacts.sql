with source as (
    select * from {{ source('raw', 'contacts') }}
)

select
    contact_id,
    user_id,
    action_key,
    coalesce(lower(trim(channel)), 'unknown') as channel,
    {{ to_utc_timestamp('sent_time') }} as sent_at,
    {{ to_reporting_date(to_utc_timestamp('sent_time')) }} as contact_date,
    assignment,
    status,
    status in ('sent', 'delivered') as is_contacted,
    coalesce(cost, 0) as cost,
    action_id
from source
