{#- The playbook (seed rfm_segment_actions) has a row for every layer value a user
    carries in dim_users: lifecycle stage, activity tier, churn risk band, both RFM
    schemes and the special users. Rows returned are values without a playbook row. -#}
{{ config(meta={'dagster': {'ref': {'name': 'dim_users'}}}) }}
with layers as (
    select distinct 'lifecycle' as scheme, lifecycle_stage as segment from {{ ref('dim_users') }}
    union select distinct 'tier', activity_tier from {{ ref('dim_users') }}
    union select distinct 'churn_risk', risk_band from {{ ref('dim_users') }}
    union select distinct 'rfm11', rfm11_segment from {{ ref('dim_users') }}
    union select distinct 'cn8', cn8_segment from {{ ref('dim_users') }}
    union select 'special', 'core' from {{ ref('dim_users') }} where is_core_user
    union select 'special', 'angel' from {{ ref('dim_users') }} where is_angel_user
    union select 'special', 'evangelist' from {{ ref('dim_users') }} where is_evangelist
)
select l.scheme, l.segment
from layers as l
left join {{ ref('rfm_segment_actions') }} as p
    on p.scheme = l.scheme and p.segment = l.segment
where l.segment is not null and p.segment is null
