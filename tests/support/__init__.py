"""Helpers shared by the tests and the benchmarks (the only test code that benchmarks import)."""
