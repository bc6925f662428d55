"""Benchmarks: one script per question, seeded, printing ``name=value`` pairs."""
