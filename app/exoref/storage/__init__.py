"""Persistence: the SQLAlchemy schema, the engine and its pragmas, migrations, the search index."""
