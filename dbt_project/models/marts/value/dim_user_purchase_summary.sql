{#- Per user with a paid order: the purchase summary of docs/METRICS.md as of the snapshot
    day, the input of the BG/NBD and Gamma-Gamma models (user_clv). -#}

select
    {{ snapshot_date() }} as snapshot_date,
    s.*
from ({{ purchase_summary(snapshot_date()) }}) as s
