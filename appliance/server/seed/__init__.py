"""Deterministic sample data for the demo remote, the tests and the benchmarks."""
