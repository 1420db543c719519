"""chain engine"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db.types

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "indexed_blocks",
        sa.Column("number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "indexer_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "relay_nonces",
        sa.Column("sender", sa.String(length=42), nullable=False),
        sa.Column("next_nonce", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("sender"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhooks_owner"), ["owner"], unique=False)

    op.create_table(
        "relay_intents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("agreement_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("milestone_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("value", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=True),
        sa.Column("nonce", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("gas", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("max_fee", backend.db.types.BigInt(length=80), nullable=True),
        sa.Column("priority_fee", backend.db.types.BigInt(length=80), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("hashes", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("mined_hash", sa.String(length=66), nullable=True),
        sa.Column("mined_block", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("mined_block_hash", sa.String(length=66), nullable=True),
        sa.Column("attempts", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["agreement_pk"], ["agreements.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("relay_intents", schema=None) as batch_op:
        batch_op.create_index("ix_relay_intents_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_id", "event_key"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked", sa.Boolean(), server_default="0", nullable=False))

    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("block_hash", sa.String(length=66), nullable=True))
        batch_op.create_index("ix_chain_events_block", ["block_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_events_block")
        batch_op.drop_column("block_hash")

    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_column("revoked")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("relay_intents", schema=None) as batch_op:
        batch_op.drop_index("ix_relay_intents_due")

    op.drop_table("relay_intents")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_owner"))

    op.drop_table("webhooks")
    op.drop_table("relay_nonces")
    op.drop_table("indexer_cursors")
    op.drop_table("indexed_blocks")
