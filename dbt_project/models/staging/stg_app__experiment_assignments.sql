with source as (
    select * from {{ source('raw', 'experiment_assignments') }}
)

select
    experiment_id,
    variant,
    user_id,
    {{ to_utc_timestamp('assigned_time') }} as assigned_at,
    {{ to_reporting_date(to_utc_timestamp('assigned_time')) }} as assigned_date
from source
