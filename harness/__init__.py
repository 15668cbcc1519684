"""Drivers shared by the tests and the benchmarks (not part of the product: nothing in data/,
web/, layouts/ or callbacks/ imports it; .importlinter checks that)."""
