{#- SQL true when the event row `alias` is the funnel step `step` (its event name, and
    each property in `where` equal to its value as text); names and values reach SQL only
    as escaped literals. -#}
{% macro funnel_step_matches(step, alias) -%}
    {{ alias }}.event_name = {{ sql_string(step.event) }}
    {%- for key, value in step['where'].items() %}
    and {{ json_string(alias ~ '.properties', key) }} = {{ sql_string(value) }}
    {%- endfor %}
{%- endmacro %}

{#- The configured funnels' steps as rows: funnel, step_number, step (its event name). -#}
{% macro funnel_steps_rows() -%}
    {%- set rows = [] -%}
    {%- for f in var('funnels') -%}
        {%- for step in f.steps -%}
            {%- do rows.append("select " ~ sql_string(f.name) ~ " as funnel, " ~ loop.index
                ~ " as step_number, " ~ sql_string(step.event) ~ " as step") -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if rows -%}
        {{ rows | join(' union all ') }}
    {%- else -%}
        select cast(null as string) as funnel, 1 as step_number, cast(null as string) as step
        where 1 = 0
    {%- endif -%}
{%- endmacro %}

{#- fct_funnel_daily / fct_funnel_weekly: per period entered, funnel, breakdown and step,
    the users who reached the step within the window, conversion from the previous step
    and from the first, the median seconds from entering to the step, and whether every
    entrant's window had elapsed on the snapshot day (docs/METRICS.md, "Funnels"). -#}
{% macro funnel_table(grain) -%}
{%- set by_platform = [] %}{% set by_channel = [] %}
{%- for f in var('funnels') %}
    {%- if 'platform' in f.breakdowns %}{% do by_platform.append(f.name) %}{% endif %}
    {%- if 'channel' in f.breakdowns %}{% do by_channel.append(f.name) %}{% endif %}
{%- endfor %}
{#- attribute breakdowns: (funnel, breakdown name, the users' column) -#}
{%- set by_attribute = [] %}
{%- for f in var('funnels') %}
    {%- for b in f.breakdowns if b.startswith('attribute.') %}
        {%- do by_attribute.append((f.name, b, b[10:])) %}
    {%- endfor %}
{%- endfor %}
{%- set windows = [] %}
{%- for f in var('funnels') %}
    {%- do windows.append("when " ~ sql_string(f.name) ~ " then " ~ f.within_seconds) %}
{%- endfor %}

with progress as (
    select * from {{ ref('int_funnel_progress') }}
    where grain = {{ sql_string(grain) }} and period_start >= {{ funnel_progress_from() }}
),

broken_down as (
    select p.*, 'all' as breakdown, 'all' as breakdown_value from progress as p
    {%- if by_platform %}
    union all
    select p.*, 'platform', coalesce(p.platform, 'unknown') from progress as p
    where p.funnel in {{ sql_string_list(by_platform) }}
    {%- endif %}
    {%- if by_channel %}
    union all
    select p.*, 'channel', coalesce(c.channel, 'unknown')
    from progress as p
    left join {{ ref('int_user_cohorts') }} as c on p.user_id = c.user_id
    where p.funnel in {{ sql_string_list(by_channel) }}
    {%- endif %}
    {%- for funnel, breakdown, column in by_attribute %}
    union all
    select p.*, {{ sql_string(breakdown) }}, coalesce({{ json_string('u.attributes', column) }}, 'unknown')
    from progress as p
    left join {{ ref('stg_app__users') }} as u on p.user_id = u.user_id
    where p.funnel = {{ sql_string(funnel) }}
    {%- endfor %}
),

{#- an attribute breakdown keeps each funnel's top_values values held by the most users
    of the users entity (as breakdowns.attributes does, int_user_attributes), the rest as
    'other', so a free-text column cannot explode it; ranked on users, not on the table's
    entries, so that a day's rows do not change as later days arrive. 'unknown' stays. -#}
{%- if by_attribute %}
ranked_values as (
    {%- for funnel, breakdown, column in by_attribute %}
    select {{ sql_string(funnel) }} as funnel, {{ sql_string(breakdown) }} as breakdown,
        value as breakdown_value,
        row_number() over (order by count(*) desc, value) as value_rank
    from (select {{ json_string('attributes', column) }} as value
          from {{ ref('stg_app__users') }}) as v
    where value is not null
    group by value
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),
{%- endif %}

bounded as (
    select b.funnel, b.funnel_signature, b.period_start, b.user_id, b.step_number,
        b.entered_at, b.reached_at, b.breakdown,
    {%- if by_attribute %}
        case when b.breakdown like 'attribute.%' and b.breakdown_value <> 'unknown'
            and coalesce(r.value_rank > (case b.funnel
            {%- for f in var('funnels') %} when {{ sql_string(f.name) }} then {{ f.get('top_values', 10) | int }}{% endfor %}
            end), true) then 'other' else b.breakdown_value end as breakdown_value
    from broken_down as b
    left join ranked_values as r
        on r.funnel = b.funnel and r.breakdown = b.breakdown
        and r.breakdown_value = b.breakdown_value
    {%- else %}
        b.breakdown_value
    from broken_down as b
    {%- endif %}
),

reached as (
    select
        funnel, funnel_signature, period_start, breakdown, breakdown_value, step_number,
        count(*) as users,
        {{ median(seconds_between('entered_at', 'reached_at')) }} as median_seconds,
        max(entered_at) as last_entered_at
    from bounded
    group by funnel, funnel_signature, period_start, breakdown, breakdown_value, step_number
),

spine as (
    select r.funnel, r.funnel_signature, r.period_start, r.breakdown, r.breakdown_value,
        r.last_entered_at, s.step_number, s.step
    from reached as r
    inner join ({{ funnel_steps_rows() }}) as s on s.funnel = r.funnel
    where r.step_number = 1
),

counted as (
    select
        s.funnel, s.funnel_signature, s.period_start, s.breakdown, s.breakdown_value,
        s.step_number, s.step, s.last_entered_at,
        cast(coalesce(r.users, 0) as bigint) as users,
        case when s.step_number > 1 then r.median_seconds end as median_seconds_to_step
    from spine as s
    left join reached as r
        on r.funnel = s.funnel and r.period_start = s.period_start
        and r.breakdown = s.breakdown and r.breakdown_value = s.breakdown_value
        and r.step_number = s.step_number
)

select
    funnel,
    period_start as {{ 'activity_date' if grain == 'day' else 'week_start' }},
    breakdown,
    breakdown_value,
    step_number,
    step,
    users,
    case when step_number > 1 then cast(users as double) / nullif(lag(users) over (
        partition by funnel, period_start, breakdown, breakdown_value order by step_number), 0)
    end as conversion_from_previous,
    cast(users as double) / nullif(first_value(users) over (
        partition by funnel, period_start, breakdown, breakdown_value order by step_number), 0)
        as conversion_from_first,
    median_seconds_to_step,
    {#- the last entrant's window has closed by the end of the snapshot day -#}
    {{ dbt.dateadd('second', ('case funnel ' ~ windows | join(' ') ~ ' end') if windows else '0',
                   'last_entered_at') }}
        <= {{ dbt.dateadd('day', 1, 'cast(' ~ snapshot_date() ~ ' as timestamp)') }} as is_complete,
    funnel_signature
from counted
{%- endmacro %}

{#- The funnel tables are daily: a run rebuilds the periods entered from the ISO week of
    rebuild_from(lag), lag = the longest window in days, since an entry on day d reads the
    events up to d + lag (a week's, up to its Sunday + lag). A funnel added, removed or
    redefined (steps, window) changes the stored signatures: that run rebuilds every
    period, so no funnel mixes two definitions and adding one needs no full refresh.
    A date literal, so the scan of int_events skips the row groups before it. -#}
{% macro funnel_signature(f) -%}
    {{- return(local_md5(tojson([f.name, f.steps, f.within_seconds], sort_keys=true))[:12]) -}}
{%- endmacro %}

{% macro funnel_progress_from() -%}
    {%- set everything = "cast('1900-01-01' as date)" -%}
    {%- if not (execute and is_incremental()) or this is none -%}
        {{- return(everything) -}}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'funnel_signature' not in columns -%}
        {{- return(everything) -}}
    {%- endif -%}
    {%- set stored = run_query('select distinct funnel_signature from ' ~ this).columns[0].values() | list -%}
    {%- set configured = [] -%}
    {%- set lags = [1] -%}
    {%- for f in var('funnels') -%}
        {%- do configured.append(funnel_signature(f)) -%}
        {%- do lags.append(((f.within_seconds | int) + 86399) // 86400) -%}
    {%- endfor -%}
    {%- if stored | sort != configured | sort -%}
        {{- return(everything) -}}
    {%- endif -%}
    {%- set row = run_query('select ' ~ period_start('week', rebuild_from(lags | max))).rows[0] -%}
    {{- return("cast('" ~ (row[0] | string)[:10] ~ "' as date)") -}}
{%- endmacro %}

{#- pre_hook of the funnel tables: drop the periods about to be rebuilt. -#}
{% macro delete_funnel_periods(column) -%}
    {{ delete_from_day(column, funnel_progress_from()) }}
{%- endmacro %}
