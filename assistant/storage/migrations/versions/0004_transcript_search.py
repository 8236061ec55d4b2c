"""trainers' list: rule and agent-name indexes, full-text search index (PostgreSQL)

Revision ID: 0004
Revises: 0003

message_findings.rule and conversations.agent_name are indexed for the list's rule and agent
filters (a rare rule must not mean a scan of every conversation). PostgreSQL also gets a GIN
index on to_tsvector('simple', text), which the trainers' search uses
(assistant/trainers/queries.py). SQLite has no such index: its search is a LIKE scan,
measured in docs/benchmarks.md ("Trainers' list").
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_findings_rule"), ["rule"], unique=False)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_agent_name"), ["agent_name"], unique=False
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_messages_text_search ON messages "
        "USING gin (to_tsvector('simple'::regconfig, text))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_text_search")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_agent_name"))
    with op.batch_alter_table("message_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_findings_rule"))
