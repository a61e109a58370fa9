"""Storage: SQLAlchemy tables, queries per aggregate that take and return records, bulk writes, Alembic migrations."""
