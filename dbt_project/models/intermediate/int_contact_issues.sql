{#- Every landed contact row with its issue, null when it is sound (first match wins):
    unknown_user (no such user landed), unknown_action (neither a playbook action
    scheme:segment nor a campaign seen in the events), sent_before_action_existed (sent
    before the user signed up: no worklist could have listed them), holdout_contacted (a
    holdout user the team contacted anyway: kept in the holdout, so the comparison stays
    randomised, and counted). -#}

with contacts as (
    select * from {{ ref('stg_app__contacts') }}
),

actions as (
    select distinct scheme || ':' || segment as action_key
    from {{ ref('rfm_segment_actions') }}
),

campaigns as (
    select distinct campaign_id from {{ ref('int_sessions') }} where campaign_id is not null
)

select
    c.*,
    case
        when u.user_id is null then 'unknown_user'
        when a.action_key is null and k.campaign_id is null then 'unknown_action'
        when c.sent_at < u.signup_at then 'sent_before_action_existed'
        when c.assignment = 'holdout' and c.is_contacted then 'holdout_contacted'
    end as issue
from contacts as c
left join {{ ref('stg_app__users') }} as u on c.user_id = u.user_id
left join actions as a on c.action_key = a.action_key
left join campaigns as k on c.action_key = k.campaign_id
