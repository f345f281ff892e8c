{#- One row per order: the orders file's, and with orders.from_events the purchases
    recorded as events (README, "Bring your data"): the configured event of an identified
    user with a numeric amount, its order id (a property; else the event's id), currency
    (else USD) and status (else paid). An order both in the file and as an event is the
    file's row, once. -#}

{%- set event = var('orders_event_event') %}
{%- set id_path = var('orders_event_order_id') %}
{%- set currency_path = var('orders_event_currency') %}
{%- set status_path = var('orders_event_status') %}

with source as (
    select
        order_id,
        user_id,
        order_time,
        amount,
        currency,
        status,
        0 as source_rank
    from {{ source('raw', 'orders') }}
    {%- if event is not none %}
    union all
    select
        {% if id_path is none %}event_id{% else %}coalesce({{ json_string('properties', id_path) }}, event_id){% endif %},
        user_id,
        event_time,
        {{ json_number('properties', var('orders_event_amount')) }},
        {% if currency_path is none %}cast(null as string){% else %}{{ json_string('properties', currency_path) }}{% endif %},
        {% if status_path is none %}'paid'{% else %}coalesce(lower({{ json_string('properties', status_path) }}), 'paid'){% endif %},
        1
    from {{ source('raw', 'events') }}
    where event_name = {{ sql_string(event) }}
        and user_id is not null
        and {{ json_number('properties', var('orders_event_amount')) }} >= 0
    {%- endif %}
),

{#- with events as a second source, an order id seen in both is the file's -#}
picked as (
    select
        *,
        {% if event is none %}1{% else %}row_number() over (partition by order_id order by source_rank){% endif %} as pick
    from source
)

select
    order_id,
    user_id,
    {{ to_utc_timestamp('order_time') }} as order_at,
    {{ to_reporting_date(to_utc_timestamp('order_time')) }} as order_date,
    amount,
    coalesce(upper(currency), 'USD') as currency,
    status,
    status = 'paid' as is_paid
from picked
where pick = 1
