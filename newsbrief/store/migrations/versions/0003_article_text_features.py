"""article text features

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:51:47.858017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the rows that exist already.
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("canonical_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("keywords", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_articles_canonical_url"), ["canonical_url"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_articles_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_created_at"))
        batch_op.drop_index(batch_op.f("ix_articles_canonical_url"))
        batch_op.drop_column("signature")
        batch_op.drop_column("keywords")
        batch_op.drop_column("canonical_url")
