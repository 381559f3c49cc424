"""Side-by-side benchmarks of the lab against the plain transformers way: `python -m benchmarks.run`."""
