"""lexicon editor: rule keys, revisions, team switches, login throttling, shared secrets

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lexicon_rules", schema=None) as batch_op:
        batch_op.alter_column(
            "rule_id", existing_type=sa.String(length=100), type_=sa.String(length=200)
        )
    op.create_table(
        "lexicon_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_key", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lexicon_revisions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lexicon_revisions")),
    )
    with op.batch_alter_table("lexicon_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lexicon_revisions_rule_key"), ["rule_key"], unique=False
        )
    op.create_table(
        "team_rule_switches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_rule_switches_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_rule_switches")),
        sa.UniqueConstraint("team_id", "rule_id", name="uq_team_rule_switch"),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_key"), ["key"], unique=False)
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )


def downgrade() -> None:
    op.drop_table("app_secrets")
    op.drop_table("login_failures")
    op.drop_table("team_rule_switches")
    op.drop_table("lexicon_revisions")
    with op.batch_alter_table("lexicon_rules", schema=None) as batch_op:
        batch_op.alter_column(
            "rule_id", existing_type=sa.String(length=200), type_=sa.String(length=100)
        )
