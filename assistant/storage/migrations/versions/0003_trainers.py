"""trainers: coaching notes, peer examples, audit log, list indexes

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_events_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "coaching_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_coaching_notes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_coaching_notes_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_coaching_notes_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_notes")),
    )
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coaching_notes_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_coaching_notes_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "peer_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=True),
        sa.Column("question", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_peer_examples_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_peer_examples_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_peer_examples_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_examples")),
    )
    with op.batch_alter_table("peer_examples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_peer_examples_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=20), server_default="live", nullable=False)
        )
        batch_op.add_column(sa.Column("agent_name", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversations_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversations_created_at"), ["created_at"], unique=False
        )

    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nudges_question"), ["question"], unique=False)
        batch_op.create_index(batch_op.f("ix_nudges_rule"), ["rule"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nudges_rule"))
        batch_op.drop_index(batch_op.f("ix_nudges_question"))

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_created_at"))
        batch_op.drop_index(batch_op.f("ix_conversations_agent_id"))
        batch_op.drop_column("agent_name")
        batch_op.drop_column("source")

    with op.batch_alter_table("peer_examples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_peer_examples_team_id"))

    op.drop_table("peer_examples")
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_notes_message_id"))
        batch_op.drop_index(batch_op.f("ix_coaching_notes_conversation_id"))

    op.drop_table("coaching_notes")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_created_at"))

    op.drop_table("audit_events")
