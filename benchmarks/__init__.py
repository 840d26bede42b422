"""Benchmarks run by `make bench`: each prints a table and a ratio against a baseline
measured in the same run, because shared machines are noisy."""
