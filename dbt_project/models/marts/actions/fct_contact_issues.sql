{#- The landed contacts by issue (int_contact_issues; 'ok' for the sound ones): how many
    rows, users and action keys, so nothing the team landed goes missing unseen. -#}

select
    coalesce(issue, 'ok') as issue,
    count(*) as contact_rows,
    count(distinct user_id) as users,
    count(distinct action_key) as action_keys
from {{ ref('int_contact_issues') }}
group by coalesce(issue, 'ok')
