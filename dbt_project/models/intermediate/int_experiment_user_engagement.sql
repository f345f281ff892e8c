{#- Per experiment and user: the engagement index over the experiment window
    (the assignment day and the following days, experiment_engagement_days in
    all), as of the latest day the daily tables hold. The readout (Python, scipy) uses users
    whose window has fully elapsed. -#}

{%- set n = var('experiment_engagement_days') | int %}

with bounds as (
    select {{ snapshot_date() }} as snapshot_date
),

assignments as (
    select * from {{ ref('stg_app__experiment_assignments') }}
    where assigned_date <= (select snapshot_date from bounds)
)

select
    a.experiment_id,
    a.variant,
    a.user_id,
    a.assigned_date,
    {{ add_days('a.assigned_date', n - 1) }} as window_end_date,
    {{ add_days('a.assigned_date', n - 1) }} <= (select snapshot_date from bounds) as is_window_complete,
    cast(coalesce(sum(ud.engagement_units), 0) as bigint) as engagement_index
from assignments as a
left join {{ ref('int_user_days') }} as ud
    on ud.user_id = a.user_id
    and ud.activity_date between a.assigned_date and {{ add_days('a.assigned_date', n - 1) }}
    and ud.activity_date <= (select snapshot_date from bounds)
group by a.experiment_id, a.variant, a.user_id, a.assigned_date
