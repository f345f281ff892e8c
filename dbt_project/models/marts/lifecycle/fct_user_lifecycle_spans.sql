{#- The lifecycle stage of every user, stored by change: one row per span of days over
    which a user's stage, cur and prev stay the same (valid_from .. valid_to), from the
    first active day through the snapshot day. fct_user_lifecycle_daily is the daily
    series as a view over these rows.

    Rules (first that matches wins): churned (no activity for >= churn_days), reactivated
    (a churned user active again, for that day), new (first active day < new_days ago),
    declining (no activity for >= declining_inactive_days, or cur < declining_ratio x
    prev), mature (cur >= tier_high_min), growing. cur = engagement index over the last
    `w` days, prev = over the `w` days before.

    Why by change: a row per user and day keeps every churned user forever (11.9 M rows
    for CDNOW's 23,570 customers, most of them one-time buyers), and every rule reads a
    window of the days before. Every input of the rules changes only on a user's active
    day d or a fixed number of days after it (d+1, d+idle, d+churn, d+w, d+2w; and the
    first day + new_days), so the stage is evaluated on those days only, with frames over
    day numbers instead of rows, and holds until the next one. The cost follows active
    user-days, not users x days, so the table is rebuilt whole on every run: no stale
    stage after a late event, and a daily run equals a full refresh by construction. -#}

{%- set churn = var('lifecycle_churn_days') | int %}
{%- set new_days = var('lifecycle_new_days') | int %}
{%- set idle = var('lifecycle_declining_inactive_days') | int %}
{%- set w = var('engagement_window_days') | int %}

with bounds as (
    select {{ snapshot_date() }} as upper_date
),

first_active as (
    select user_id, first_active_date
    from {{ ref('int_user_cohorts') }}
    where first_active_date is not null
        and first_active_date <= (select upper_date from bounds)
),

{#- The days that carry activity or engagement units; the rules see nothing else.
    Days before the first active day do not count (the series starts there). -#}
touched as (
    select
        ud.user_id,
        ud.activity_date,
        case when ud.is_active then 1 else 0 end as active,
        coalesce(ud.engagement_units, 0) as units
    from {{ ref('int_user_days') }} as ud
    inner join first_active as f on f.user_id = ud.user_id
    where (ud.is_active or coalesce(ud.engagement_units, 0) <> 0)
        and ud.activity_date >= f.first_active_date
        and ud.activity_date <= (select upper_date from bounds)
),

offsets as (
    select 0 as k
    union all select 1
    union all select {{ idle }}
    union all select {{ churn }}
    union all select {{ w }}
    union all select {{ 2 * w }}
),

{#- Every day on which some input of the rules can change. -#}
change_days as (
    select t.user_id, {{ add_days('t.activity_date', 'o.k') }} as activity_date
    from touched as t
    cross join offsets as o
    union
    select user_id, {{ add_days('first_active_date', new_days) }} as activity_date
    from first_active
),

points as (
    select
        c.user_id,
        c.activity_date,
        {{ dbt.datediff('f.first_active_date', 'c.activity_date', 'day') }} as day_number,
        coalesce(t.active, 0) as active,
        coalesce(t.units, 0) as units
    from change_days as c
    inner join first_active as f on f.user_id = c.user_id
    left join touched as t
        on t.user_id = c.user_id and t.activity_date = c.activity_date
    where c.activity_date <= (select upper_date from bounds)
),

{#- Frames over day numbers (range), not rows: the days between points hold no
    activity, so the frames see exactly what a frame over every day would. -#}
history as (
    select
        user_id,
        activity_date,
        day_number,
        active as active_today,
        max(active) over (partition by user_id order by day_number
            range between {{ churn - 1 }} preceding and current row) as active_within_churn_days,
        coalesce(max(active) over (partition by user_id order by day_number
            range between {{ churn }} preceding and 1 preceding), 0) as active_in_churn_days_before,
        max(active) over (partition by user_id order by day_number
            range between {{ idle - 1 }} preceding and current row) as active_within_idle_days,
        cast(sum(units) over (partition by user_id order by day_number
            range between {{ w - 1 }} preceding and current row) as bigint) as engagement_cur,
        cast(coalesce(sum(units) over (partition by user_id order by day_number
            range between {{ 2 * w - 1 }} preceding and {{ w }} preceding), 0) as bigint)
            as engagement_prev
    from points
),

staged as (
    select
        user_id,
        activity_date,
        engagement_cur,
        engagement_prev,
        case
            when active_within_churn_days = 0 then 'churned'
            when active_today = 1 and day_number > 0 and active_in_churn_days_before = 0
                then 'reactivated'
            when day_number < {{ new_days }} then 'new'
            when active_within_idle_days = 0
                or engagement_cur < {{ var('lifecycle_declining_ratio') }} * engagement_prev then 'declining'
            when engagement_cur >= {{ var('tier_high_min') | int }} then 'mature'
            else 'growing'
        end as lifecycle_stage
    from history
),

{#- A point opens a span when something changed since the point before; the stage
    of the day before a point is the stage of the point before (nothing changes in
    between). -#}
compared as (
    select
        *,
        lag(lifecycle_stage) over by_day as previous_stage,
        lag(engagement_cur) over by_day as cur_before,
        lag(engagement_prev) over by_day as prev_before
    from staged
    window by_day as (partition by user_id order by activity_date)
),

spans as (
    select *
    from compared
    where previous_stage is null
        or lifecycle_stage <> previous_stage
        or engagement_cur <> cur_before
        or engagement_prev <> prev_before
)

select
    user_id,
    activity_date as valid_from,
    coalesce(
        {{ add_days('lead(activity_date) over (partition by user_id order by activity_date)', -1) }},
        (select upper_date from bounds)
    ) as valid_to,
    lifecycle_stage,
    previous_stage,
    engagement_cur,
    engagement_prev
from spans
