{{ funnel_table('day') }}
