{#- Per user of the users entity and configured attribute (breakdowns.attributes;
    docs/METRICS.md, "Breakdowns"): the breakdown attribute.<column> and the user's value
    of that column. Bounded: an attribute keeps the breakdown_top_values values held by
    the most users (ties: by value), the rest become 'other', so a free-text column cannot
    explode the tables it breaks down. A user without the column: 'unknown', never folded
    into 'other'; the tables give 'unknown' to users without a users row too. Ranked over
    every landed user, not only those known by the snapshot day, so that a backfill and
    the day-by-day runs over the same landing label alike. -#}

{%- set columns = var('breakdown_attributes') %}

with users as (
    select user_id, attributes
    from {{ ref('stg_app__users') }}
)

{%- if columns | length == 0 %}

select
    cast(null as string) as user_id,
    cast(null as string) as breakdown,
    cast(null as string) as breakdown_value
from users
where 1 = 0

{%- else %}
,

raw_values as (
    {%- for column in columns %}
    select
        user_id,
        {{ sql_string('attribute.' ~ column) }} as breakdown,
        {{ json_string('attributes', column) }} as raw_value
    from users
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

ranked as (
    select
        breakdown,
        raw_value,
        row_number() over (partition by breakdown order by count(*) desc, raw_value) as value_rank
    from raw_values
    where raw_value is not null
    group by breakdown, raw_value
)

select
    v.user_id,
    v.breakdown,
    case
        when v.raw_value is null then 'unknown'
        when r.value_rank <= {{ var('breakdown_top_values') | int }} then v.raw_value
        else 'other'
    end as breakdown_value
from raw_values as v
left join ranked as r on v.breakdown = r.breakdown and v.raw_value = r.raw_value

{%- endif %}
