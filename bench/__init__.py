"""Benchmarks: ``python -m bench`` (national scale) and ``bench/geocode_bench.py`` (labelled eval set)."""
