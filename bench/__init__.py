"""The gate benchmark: python bench/run.py."""
