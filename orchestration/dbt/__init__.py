"""The dbt wiring, in one place (as dagster-open-platform's defs/dbt): the project and its
manifest (project.py), the @dbt_assets (assets.py), small argument and run-window helpers
(helpers.py), dbt run in this process (runner.py) and its results as Dagster events
(events.py)."""
