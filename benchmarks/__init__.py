"""Side-by-side measurements: ``python -m benchmarks.<name>`` prints JSON with a baseline from the same run."""
