"""The SQL store (SQLAlchemy 2.x, Alembic migrations)."""
