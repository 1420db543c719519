"""release requests: the oracle nodes asked, each node's answer per round; milestones' measuring cadence"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.db.types

revision = "0005"
down_revision = "0007"

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "release_requests",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("agreement_pk", BIGINT, nullable=False),
        sa.Column("milestone_index", BIGINT, nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("round", BIGINT, nullable=False),
        sa.Column("observed_at", BIGINT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("agreed_digest", sa.String(length=66), nullable=True),
        sa.Column("created_at", BIGINT, nullable=False),
        sa.Column("updated_at", BIGINT, nullable=False),
        sa.ForeignKeyConstraint(["agreement_pk"], ["agreements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_release_requests_milestone", "release_requests", ["agreement_pk", "milestone_index"])
    op.create_table(
        "node_answers",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("request_id", BIGINT, nullable=False),
        sa.Column("round", BIGINT, nullable=False),
        sa.Column("node", sa.String(length=300), nullable=False),
        sa.Column("observed_at", BIGINT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", BIGINT, nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.Column("value", backend.db.types.BigInt(), nullable=True),
        sa.Column("digest", sa.String(length=66), nullable=True),
        sa.Column("evidence_hash", sa.String(length=66), nullable=True),
        sa.Column("signer", sa.String(length=42), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["release_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "round", "node"),
    )
    op.create_index("ix_node_answers_due", "node_answers", ["status", "next_attempt_at"])
    op.add_column("milestones", sa.Column("measure_every_seconds", BIGINT, nullable=True))


def downgrade() -> None:
    op.drop_column("milestones", "measure_every_seconds")
    op.drop_index("ix_node_answers_due", table_name="node_answers")
    op.drop_table("node_answers")
    op.drop_index("ix_release_requests_milestone", table_name="release_requests")
    op.drop_table("release_requests")
