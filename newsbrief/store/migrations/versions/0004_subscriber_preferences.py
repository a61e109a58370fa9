"""subscriber preferences: subscriptions on the row, filters, quiet hours, digest overflow

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subscriptions", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("filters", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("max_items", sa.Integer(), nullable=True))
    with op.batch_alter_table("digest_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("overflow", sa.JSON(), nullable=True))
        # Composing claims cursors inside its own transaction now: no lease to keep.
        batch_op.drop_column("lease_until")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))

    # Existing subscriptions move onto their subscriber's row, in the order they were made.
    bind = op.get_bind()
    subscriptions = sa.table(
        "subscriptions",
        sa.column("subscriber_id", sa.Integer),
        sa.column("topic_id", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    subscribers = sa.table(
        "subscribers", sa.column("id", sa.Integer), sa.column("subscriptions", sa.JSON)
    )
    topics: dict[int, list[str]] = {}
    query = sa.select(subscriptions.c.subscriber_id, subscriptions.c.topic_id).order_by(
        subscriptions.c.subscriber_id, subscriptions.c.created_at, subscriptions.c.topic_id
    )
    for subscriber_id, topic_id in bind.execute(query):
        topics.setdefault(subscriber_id, []).append(topic_id)
    for subscriber_id, entries in topics.items():
        bind.execute(
            subscribers.update()
            .where(subscribers.c.id == subscriber_id)
            .values(subscriptions=entries)
        )
    op.drop_table("subscriptions")


def downgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_subscriptions_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "topic_id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_topic_id"), "subscriptions", ["topic_id"])
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("payload")
    with op.batch_alter_table("digest_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch_op.drop_column("overflow")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("max_items")
        batch_op.drop_column("quiet_hours")
        batch_op.drop_column("filters")
        batch_op.drop_column("subscriptions")
