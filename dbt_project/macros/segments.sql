{#- The configured segments' members as of the snapshot day (dim_user_segments): one
    select per segment over dim_users, each condition given ANDed, a list's values ORed;
    names and values reach SQL only as escaped literals. -#}
{% macro segment_members(segments) -%}
{%- set parts = [] -%}
{%- for seg in segments %}
    {%- set conditions = [] -%}
    {%- for key, values in seg.attributes.items() -%}
        {%- do conditions.append(json_string('u.attributes', key) ~ ' in ' ~ sql_string_list(values)) -%}
    {%- endfor -%}
    {%- for key, column in [('channel', 'channel'), ('platform', 'first_platform'),
                            ('lifecycle', 'lifecycle_stage'), ('tier', 'activity_tier'),
                            ('rfm11', 'rfm11_segment'), ('cn8', 'cn8_segment'),
                            ('risk_band', 'risk_band')] -%}
        {%- if seg[key] is not none -%}
            {%- do conditions.append('u.' ~ column ~ ' in ' ~ sql_string_list(seg[key])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if seg.signup_from is not none -%}
        {%- do conditions.append("u.signup_date >= cast(" ~ sql_string(seg.signup_from) ~ " as date)") -%}
    {%- endif -%}
    {%- if seg.signup_to is not none -%}
        {%- do conditions.append("u.signup_date <= cast(" ~ sql_string(seg.signup_to) ~ " as date)") -%}
    {%- endif -%}
    {%- set part -%}
    select {{ sql_string(seg.name) }} as segment, u.user_id
    from {{ ref('dim_users') }} as u
    {%- if seg.min_events %}
    inner join (
        select user_id
        from {{ ref('int_events') }}
        where event_name in {{ sql_string_list(seg.min_events.keys() | list) }}
            and activity_date <= {{ snapshot_date() }}
            and activity_date > {{ add_days(snapshot_date(), -1 * seg.days) }}
        group by user_id
        having
        {%- for event, n in seg.min_events.items() %}
            sum(case when event_name = {{ sql_string(event) }} then 1 else 0 end) >= {{ n | int }}
            {%- if not loop.last %} and{% endif %}
        {%- endfor %}
    ) as e on e.user_id = u.user_id
    {%- endif %}
    where {{ conditions | join('\n        and ') if conditions else 'true' }}
    {%- endset -%}
    {%- do parts.append(part) -%}
{%- endfor -%}
{%- if parts -%}
    {{ parts | join('\n    union all\n') }}
{%- else -%}
    select cast(null as {{ dbt.type_string() }}) as segment, cast(null as {{ dbt.type_string() }}) as user_id
    where 1 = 0
{%- endif -%}
{%- endmacro %}

{#- First day of the segment trend tables (fct_segment_*): the Monday breakdowns.segment_weeks
    - 1 ISO weeks before the snapshot day's. A window of fixed length, so a run costs the
    members x the window, never the history. -#}
{% macro segment_trend_start() -%}
    {{ add_days(period_start('week', snapshot_date()), -7 * ((var('segment_weeks') | int) - 1)) }}
{%- endmacro %}
