{#- Closing the loop: the holdout assignment, the same as models/loop.py's (tested
    against it in tests/test_loop.py). -#}

{#- The first day of the assignment period holding the date `day`: periods of
    loop_assignment_period_days count from Monday 1970-01-05 (7-day periods are ISO
    weeks). -#}
{% macro assignment_period(day) -%}
    {%- set n = var('loop_assignment_period_days') | int -%}
    {{ add_days("cast('1970-01-05' as date)",
                'cast(floor(' ~ dbt.datediff("cast('1970-01-05' as date)", day, 'day') ~ ' / ' ~ n ~ ') as int) * ' ~ n) }}
{%- endmacro %}

{#- The md5 text of (user, action key, period) that fixes a unit's group and id. -#}
{% macro unit_text(user_id, action_key, period) -%}
    {{ user_id }} || '|' || {{ action_key }} || '|' || cast({{ period }} as string)
{%- endmacro %}

{#- A number in [0, 1): the first 32 bits of md5 of the unit's text. -#}
{% macro unit_hash(text) -%}
    {{ return(adapter.dispatch('unit_hash', 'userops')(text)) }}
{%- endmacro %}
{% macro default__unit_hash(text) -%}
    (cast(('0x' || substr(md5({{ text }}), 1, 8)) as bigint) / 4294967296.0)
{%- endmacro %}
{% macro spark__unit_hash(text) -%}
    (cast(conv(substr(md5({{ text }}), 1, 8), 16, 10) as bigint) / 4294967296.0)
{%- endmacro %}

{#- 1 for an action measured not to work (its verdict no effect or harmful), else 0: such
    actions go last within their priority. -#}
{% macro not_working(verdict) -%}
    case when {{ verdict }} in ('no effect', 'harmful') then 1 else 0 end
{%- endmacro %}
