"""Alembic migrations of the system tables (collection tables are the planner's business)."""
