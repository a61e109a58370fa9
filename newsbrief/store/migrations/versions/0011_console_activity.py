"""console activity: fetches per hour, each tick's last run, when chats were paused; indexes
for today's entries and the last day's sends

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-16 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fetch_counts",
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "outcome", name=op.f("pk_fetch_counts")),
    )
    op.create_table(
        "tick_runs",
        sa.Column("tick", sa.String(length=32), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("process", sa.String(length=128), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tick", name=op.f("pk_tick_runs")),
    )
    op.create_table(
        "chat_pauses",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "chat_id", name=op.f("pk_chat_pauses")),
    )
    op.create_index("ix_entries_fetched_at", "entries", ["fetched_at"])
    op.create_index("ix_deliveries_sent", "deliveries", ["sent_at", "platform", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_sent", table_name="deliveries")
    op.drop_index("ix_entries_fetched_at", table_name="entries")
    op.drop_table("chat_pauses")
    op.drop_table("tick_runs")
    op.drop_table("fetch_counts")
