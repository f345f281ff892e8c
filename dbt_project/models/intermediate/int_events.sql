{{ config(materialized='view') }}

{#- The events every user-level model reads: each event with a user_id, and each
    visitor's event (anonymous_id only) whose anonymous id is linked to a user
    (int_identity_map), as that user's, before the link and after it (is_stitched).
    A visitor never linked stays out: active users, retention, lifecycle and value count
    identified users; the visitor tables count everyone (fct_visitors_daily). -#}

select
    e.event_id,
    coalesce(e.user_id, m.user_id) as user_id,
    e.anonymous_id,
    e.event_name,
    e.event_at,
    e.activity_date,
    e.session_id,
    e.platform,
    e.campaign_id,
    e.properties,
    e.is_key_event,
    e.landed_event_time,
    e.user_id is null as is_stitched
from {{ ref('stg_app__events') }} as e
left join {{ ref('int_identity_map') }} as m
    on e.user_id is null and e.anonymous_id = m.anonymous_id
where e.user_id is not null or m.user_id is not null
