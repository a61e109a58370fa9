"""polling state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:36:48.358568
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the rows that exist already.
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("content_hash", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("announce", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config_url", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("min_interval", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_interval", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("announce_updates", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("gone_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("redirect_url", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("redirect_seen", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("entries_per_week", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("config_url")
        batch_op.drop_column("entries_per_week")
        batch_op.drop_column("redirect_seen")
        batch_op.drop_column("redirect_url")
        batch_op.drop_column("gone_count")
        batch_op.drop_column("last_error_kind")
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("disabled_reason")
        batch_op.drop_column("announce_updates")
        batch_op.drop_column("max_interval")
        batch_op.drop_column("min_interval")

    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_column("announce")
        batch_op.drop_column("revision")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("content_hash")
