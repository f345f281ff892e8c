{#- Config values reach SQL only through these macros: a value becomes an
    escaped string literal, never SQL text. -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro sql_string_list(values) -%}
    ({%- for v in values -%}{{ sql_string(v) }}{%- if not loop.last -%}, {% endif -%}{%- endfor -%})
{%- endmacro %}

{% macro is_key_event(column) -%}
    {%- set key_events = var('key_events') -%}
    {%- if key_events is not none -%}
        {%- if key_events | length == 0 -%}false{%- else -%}({{ column }} in {{ sql_string_list(key_events) }}){%- endif -%}
    {%- else -%}
        {%- set passive = var('passive_events') -%}
        {%- if passive | length == 0 -%}true{%- else -%}({{ column }} not in {{ sql_string_list(passive) }}){%- endif -%}
    {%- endif -%}
{%- endmacro %}
