{#- Every anonymous id seen, as of the snapshot day: the user it belongs to (null: never
    linked), when and how it was linked (an event carrying both ids, or a users row), how
    many users it met (over 1: a shared device; it stays with the first), and its first
    and last day with events. -#}

with seen as (
    select
        anonymous_id,
        min(activity_date) as first_seen_date,
        max(activity_date) as last_seen_date,
        cast(sum(case when user_id is null then events else 0 end) as bigint) as anonymous_events
    from {{ ref('int_visitor_days') }}
    where anonymous_id is not null and activity_date <= {{ snapshot_date() }}
    group by anonymous_id
)

select
    coalesce(s.anonymous_id, m.anonymous_id) as anonymous_id,
    m.user_id,
    m.linked_date,
    m.link_source,
    cast(coalesce(m.linked_users, 0) as bigint) as linked_users,
    s.first_seen_date,
    s.last_seen_date,
    cast(coalesce(s.anonymous_events, 0) as bigint) as anonymous_events
from seen as s
full outer join {{ ref('int_identity_map') }} as m on s.anonymous_id = m.anonymous_id
