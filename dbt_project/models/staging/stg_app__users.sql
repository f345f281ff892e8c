with source as (
    select * from {{ source('raw', 'users') }}
)

select
    user_id,
    {{ to_utc_timestamp('signup_time') }} as signup_at,
    {{ to_reporting_date(to_utc_timestamp('signup_time')) }} as signup_date,
    coalesce(nullif(lower(trim(channel)), ''), 'unknown') as channel,
    nullif(trim(referrer_user_id), '') as referrer_user_id,
    nullif(trim(anonymous_id), '') as anonymous_id,
    extra as attributes
from source
