{#- One row: whether activity comes from events (engaged visits) or, for a product with
    only orders, from purchase days (macro uses_events). The Python scoring reads this row
    instead of repeating the rule. -#}

select
    {{ sql_string(var('activity_source')) }} as configured_source,
    {{ uses_events() }} as uses_events
