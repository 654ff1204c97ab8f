"""Helpers for scripts/bench.py: pre-signing, servers under test, load generators, the benchmarks, the report."""
