"""what group robots' digests left out, behind the link in their footers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-17 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_rest",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=False),
        sa.Column("story_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_digest_rest")),
    )
    with op.batch_alter_table("digest_rest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_rest_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("digest_rest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digest_rest_created_at"))
    op.drop_table("digest_rest")
