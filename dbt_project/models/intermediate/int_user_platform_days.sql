{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- One row per user, day and platform with visits there (event data only:
    orders carry no platform). Feeds the platform breakdown of the marts. -#}

select
    user_id,
    activity_date,
    platform,
    count(*) as visits,
    cast(sum(case when is_bounced then 1 else 0 end) as bigint) as bounced_visits,
    cast(sum(case when is_engaged then 1 else 0 end) as bigint) as engaged_visits,
    sum(case when is_engaged then 1 else 0 end) > 0 as is_active,
    sum(case when is_bounced then 0 else 1 end) = 0 as is_bounced_only
from {{ ref('int_sessions') }}
where {{ in_run_window('activity_date') }}
    and {{ uses_events() }}
group by user_id, activity_date, platform
