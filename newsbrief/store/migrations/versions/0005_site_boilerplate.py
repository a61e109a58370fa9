"""site boilerplate lines; article author and lead image

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_lines",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("line_hash", sa.String(length=40), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host", "line_hash", name=op.f("pk_site_lines")),
    )
    with op.batch_alter_table("site_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_lines_last_seen"), ["last_seen"], unique=False)
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("image_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("image_url")
        batch_op.drop_column("author")
    with op.batch_alter_table("site_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_lines_last_seen"))
    op.drop_table("site_lines")
