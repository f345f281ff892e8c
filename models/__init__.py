"""Python analytic models: pure DataFrame-in, DataFrame-out functions (no Dagster, no I/O)."""
