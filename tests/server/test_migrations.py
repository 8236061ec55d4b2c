"""The Alembic migrations build exactly the schema the models describe, on each database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assistant.storage.db import make_engine, migrate
from assistant.storage.models import Base


def test_migrations_match_the_models(database_url):
    db = make_engine(database_url)
    try:
        migrate(db)
        migrate(db)  # running it again is harmless
        with db.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        db.dispose()
