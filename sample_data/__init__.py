"""Sample data for the demo, the tests and the benchmarks.

`generator` makes a seeded synthetic product with known ground truth;
`cdnow` turns the real CDNOW transactions into an orders landing.
"""
