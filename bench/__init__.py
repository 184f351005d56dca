"""Benchmarks: they print their figures and, when asked, write them to docs/."""
