"""the outbox's subscriber_id without a foreign key (its check cost an eighth of a compose pass)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-19 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot drop a constraint: batch mode copies the table without it.
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deliveries_subscriber_id_subscribers", type_="foreignkey")


def downgrade() -> None:
    # Messages of subscribers deleted since lose their id, as ON DELETE SET NULL would have.
    op.execute(
        "UPDATE deliveries SET subscriber_id = NULL WHERE subscriber_id IS NOT NULL "
        "AND subscriber_id NOT IN (SELECT id FROM subscribers)"
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_deliveries_subscriber_id_subscribers",
            "subscribers",
            ["subscriber_id"],
            ["id"],
            ondelete="SET NULL",
        )
