"""Alembic migrations for every bounded context (one linear history)."""
