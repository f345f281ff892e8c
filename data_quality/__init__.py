"""Data quality: the raw-input contract (contract.py), landing validation with quarantine
(landing/) and the Great Expectations suites (suites.py). Nothing here imports Dagster."""
