"""Benchmark harness: seeded landings at given sizes, the full pipeline run over them, and
the figures that say how it scales (see `python -m benchmarks --help`)."""
