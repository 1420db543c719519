"""invoice series per issuer; the agreed VAT treatment in the terms

Invoices issued before keep their AP-<id> numbers (no issuer, no sequence): a number once issued
never changes. Every issuer's series starts at 1 with its next invoice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0005"

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "invoice_series",
        sa.Column("issuer", sa.String(length=42), nullable=False),
        sa.Column("prefix", sa.String(length=48), nullable=False),
        sa.Column("last_number", BIGINT, nullable=False),
        sa.PrimaryKeyConstraint("issuer"),
        sa.UniqueConstraint("prefix"),
    )
    with op.batch_alter_table("invoices") as batch:
        batch.alter_column("number", existing_type=sa.String(length=20), type_=sa.String(length=64))
        batch.add_column(sa.Column("issuer", sa.String(length=42), nullable=True))
        batch.add_column(sa.Column("sequence", BIGINT, nullable=True))
        batch.create_unique_constraint("uq_invoices_issuer_sequence", ["issuer", "sequence"])
    with op.batch_alter_table("agreements") as batch:
        batch.add_column(sa.Column("vat", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("vat")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint("uq_invoices_issuer_sequence", type_="unique")
        batch.drop_column("sequence")
        batch.drop_column("issuer")
        batch.alter_column("number", existing_type=sa.String(length=64), type_=sa.String(length=20))
    op.drop_table("invoice_series")
