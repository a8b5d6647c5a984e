"""Side-by-side measurements: `python -m benchmarks.<name>` prints JSON with a same-run baseline."""
