"""Benchmarks: ``python -m tests.benchmarks.run`` (``make bench``)."""
