"""callback replies by MsgId, shared by every process serving the callbacks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callback_replies",
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("msg_id", sa.String(length=200), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "msg_id", name=op.f("pk_callback_replies")),
    )
    with op.batch_alter_table("callback_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_replies_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("callback_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_replies_created_at"))
    op.drop_table("callback_replies")
