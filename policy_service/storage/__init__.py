"""Storage of the gate's state on SQLAlchemy 2 Core: SQLite (WAL) or PostgreSQL."""
