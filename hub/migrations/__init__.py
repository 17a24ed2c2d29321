"""Alembic migrations of the hub's store; `hub.store.Store.migrate()` runs them to head."""
