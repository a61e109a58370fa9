"""feed display names; entry and story lead images

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.Text(), nullable=True))
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_url", sa.Text(), nullable=True))
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_column("image_url")
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_column("image_url")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("name")
