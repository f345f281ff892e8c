{{ funnel_table('week') }}
