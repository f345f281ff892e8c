"""Data quality: the raw-input contract, landing validation with quarantine, and
(later) Great Expectations suites. Nothing here imports Dagster."""
