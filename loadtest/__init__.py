"""Load test of the served dashboards: N visitors open the round-trip lab at once and each runs
one round trip. ``python -m loadtest --help``; see loadtest/README.md for the figures."""
