"""trainers' list: full-text search index on message text (PostgreSQL)

Revision ID: 0004
Revises: 0003

PostgreSQL gets a GIN index on to_tsvector('simple', text), which the trainers' search uses
(assistant/trainers/queries.py). SQLite has no such index: its search is a LIKE scan, measured
in docs/benchmarks.md ("Trainers' list").
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_messages_text_search ON messages "
        "USING gin (to_tsvector('simple'::regconfig, text))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_messages_text_search")
