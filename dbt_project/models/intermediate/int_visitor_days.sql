{{
    config(
        materialized='incremental',
        incremental_strategy=daily_strategy(),
        partition_by=day_partition('activity_date'),
        pre_hook="{{ delete_run_window('activity_date') }}",
    )
}}

{#- Per day and landed id pair (user_id, anonymous_id, either may be null): the events
    seen. The visitor tables resolve each pair to a visitor through int_identity_map when
    they read it, so a link landed later changes no row here. -#}

select
    activity_date,
    user_id,
    anonymous_id,
    count(*) as events
from {{ ref('stg_app__events') }}
where {{ in_run_window('activity_date') }}
    {{ landed_in_run_window('landed_event_time') }}
group by activity_date, user_id, anonymous_id
