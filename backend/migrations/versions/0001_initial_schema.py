"""initial schema"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db.types

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("chain_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("escrow", sa.String(length=42), nullable=False),
        sa.Column("client", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("arbiter", sa.String(length=42), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("oracles", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cure_window", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revision", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("docs_hash", sa.String(length=66), nullable=False),
        sa.Column("salt", sa.String(length=66), nullable=False),
        sa.Column("milestones_root", sa.String(length=66), nullable=True),
        sa.Column("agreement_id", sa.String(length=66), nullable=True),
        sa.Column("created_by", sa.String(length=42), nullable=False),
        sa.Column("created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agreement_id"),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreements_client"), ["client"], unique=False)
        batch_op.create_index(batch_op.f("ix_agreements_provider"), ["provider"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "chain_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_number", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("block_time", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agreement_id", sa.String(length=66), nullable=True),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash", "log_index"),
    )
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.create_index("ix_chain_events_agreement", ["agreement_id"], unique=False)

    op.create_table(
        "sign_in_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("used_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.PrimaryKeyConstraint("nonce"),
    )
    op.create_table(
        "wallet_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("expires_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "attestations",
        sa.Column("digest", sa.String(length=66), nullable=False),
        sa.Column("agreement_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("milestone_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric_id", sa.String(length=66), nullable=False),
        sa.Column("value", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("observed_at", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("evidence_hash", sa.String(length=66), nullable=False),
        sa.Column("expires_at", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("received_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("anchor_root", sa.String(length=66), nullable=True),
        sa.Column("anchor_proof", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["agreement_pk"], ["agreements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attestations_agreement_pk"), ["agreement_pk"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agreement_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("party", sa.String(length=42), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("terms_hash", sa.String(length=66), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.Column("created_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["agreement_pk"], ["agreements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agreement_pk", "party"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("agreement_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("milestone_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issued_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total", backend.db.types.BigInt(length=80), nullable=False),
        sa.ForeignKeyConstraint(["agreement_pk"], ["agreements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("tx_hash", "log_index"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_agreement_pk"), ["agreement_pk"], unique=False)

    op.create_table(
        "milestones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agreement_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("metric_id", sa.String(length=66), nullable=False),
        sa.Column("amount", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("bonus", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("floor", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("target", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("stretch", backend.db.types.BigInt(length=80), nullable=False),
        sa.Column("deadline", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("holdback_period", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("floor_payout_bps", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("late_penalty_bps_per_day", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("max_late_penalty_bps", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("holdback_bps", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("requires_client_approval", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("client_approved", sa.Boolean(), nullable=False),
        sa.Column("settled_value", backend.db.types.BigInt(length=80), nullable=True),
        sa.Column("settled_observed_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("settled_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("settled_attestation", sa.String(length=66), nullable=True),
        sa.Column("paid_now", backend.db.types.BigInt(length=80), nullable=True),
        sa.Column("holdback", backend.db.types.BigInt(length=80), nullable=True),
        sa.Column("refund", backend.db.types.BigInt(length=80), nullable=True),
        sa.Column("holdback_status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["agreement_pk"], ["agreements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agreement_pk", "index"),
    )
    op.create_table(
        "attestation_signatures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("digest", sa.String(length=66), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.Column("pushed_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["digest"], ["attestations.digest"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest", "signer"),
    )


def downgrade() -> None:
    op.drop_table("attestation_signatures")
    op.drop_table("milestones")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_agreement_pk"))

    op.drop_table("invoices")
    op.drop_table("consents")
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attestations_agreement_pk"))

    op.drop_table("attestations")
    op.drop_table("wallet_sessions")
    op.drop_table("sign_in_nonces")
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_events_agreement")

    op.drop_table("chain_events")
    op.drop_table("api_keys")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_provider"))
        batch_op.drop_index(batch_op.f("ix_agreements_client"))

    op.drop_table("agreements")
