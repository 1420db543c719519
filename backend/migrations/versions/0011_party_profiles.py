"""party profiles and frozen invoice documents"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0004"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "party_profiles",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("wallet", sa.String(42), nullable=False, index=True),
        sa.Column("scope", sa.String(66), nullable=False),
        sa.Column("version", ID, nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("signed_at", ID, nullable=False),
        sa.Column("signature", sa.String(400), nullable=False),
        sa.Column("created_at", ID, nullable=False),
        sa.UniqueConstraint("wallet", "scope", "version"),
    )
    op.create_table(
        "invoice_documents",
        sa.Column("invoice_id", ID, sa.ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("created_at", ID, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invoice_documents")
    op.drop_table("party_profiles")
