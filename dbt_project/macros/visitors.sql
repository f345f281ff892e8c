{#- Each landed (day, user_id, anonymous_id) pair of int_visitor_days up to the snapshot
    day, resolved to its visitor: the user (its own id, or the user its anonymous id is
    linked to) or else the anonymous id itself (docs/METRICS.md, "Events, ids and
    visitors"). -#}
{% macro resolved_visitor_days() -%}
    select
        v.activity_date,
        v.user_id as own_user_id,
        coalesce(v.user_id, m.user_id) as user_id,
        coalesce(v.user_id, m.user_id, 'anonymous:' || v.anonymous_id) as visitor_id
    from {{ ref('int_visitor_days') }} as v
    left join {{ ref('int_identity_map') }} as m
        on v.user_id is null and v.anonymous_id = m.anonymous_id
    where v.activity_date <= {{ snapshot_date() }}
{%- endmacro %}
