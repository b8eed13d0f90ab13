"""Alembic migrations of the policy service's schema, run programmatically at start."""
