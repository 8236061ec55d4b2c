"""Alembic environment: runs on a connection handed over by assistant.storage.db.migrate(),
or, from the alembic command line, on DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine

from assistant.storage.db import default_database_url
from assistant.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(default_database_url())
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER tables in batch mode
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
