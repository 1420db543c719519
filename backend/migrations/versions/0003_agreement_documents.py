"""agreement documents"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # Empty at first: an agreement without a document is rendered when read, and stored at its next change.
    op.create_table(
        "agreement_documents",
        sa.Column("agreement_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_pk"], ["agreements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agreement_pk"),
    )


def downgrade() -> None:
    op.drop_table("agreement_documents")
