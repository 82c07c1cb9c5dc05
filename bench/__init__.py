"""Benchmarks of the platform against plain `docker run`; run with `python -m bench.run`."""
