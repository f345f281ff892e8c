{#- One row per linked anonymous id: the user it belongs to. Links come from events that
    carried both ids (int_identity_links) and from users rows that name the anonymous id
    they had before signing up. An anonymous id that meets two or more users belongs to the
    first (the earliest link; on a tie, the smaller user id): a shared device never moves
    a visitor's history from one person to another, and linked_users > 1 shows that it
    happened. As of the snapshot day. -#}

with links as (
    select anonymous_id, user_id, link_date, linked_at, 'event' as link_source
    from {{ ref('int_identity_links') }}
    where link_date <= {{ snapshot_date() }}
    union all
    select anonymous_id, user_id, signup_date, signup_at, 'users'
    from {{ ref('stg_app__users') }}
    where anonymous_id is not null and signup_date <= {{ snapshot_date() }}
),

ranked as (
    select
        anonymous_id,
        user_id,
        link_date,
        linked_at,
        link_source,
        row_number() over (partition by anonymous_id order by linked_at, user_id, link_source) as pick
    from links
),

{#- a group by, not count(distinct) over a window (Spark has no distinct window functions) -#}
met as (
    select anonymous_id, count(distinct user_id) as linked_users
    from links
    group by anonymous_id
)

select
    r.anonymous_id,
    r.user_id,
    r.link_date as linked_date,
    r.linked_at,
    r.link_source,
    cast(m.linked_users as bigint) as linked_users
from ranked as r
inner join met as m on r.anonymous_id = m.anonymous_id
where r.pick = 1
