{#- Generic tests we would otherwise take from dbt_utils (dbt Hub is out of reach). -#}

{% test unique_combination(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}, count(*) as n
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{% test expression_is_true(model, expression, column_name=none) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}

{#- Spans of one user tile the days from the first through the snapshot day: each span
    starts the day after the one before ends, and the last ends on the snapshot day. So
    the daily series built from them has exactly one row per user and day. -#}
{% test lifecycle_spans_are_contiguous(model) %}
    with ordered as (
        select
            user_id,
            valid_from,
            valid_to,
            lead(valid_from) over (partition by user_id order by valid_from) as next_from
        from {{ model }}
    )
    select *
    from ordered
    where (next_from is not null and next_from <> {{ add_days('valid_to', 1) }})
        or (next_from is null and valid_to <> {{ snapshot_date() }})
{% endtest %}
