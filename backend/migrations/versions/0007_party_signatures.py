"""party signatures of any length (a Safe's owners' signatures, an ERC-1271 answer's own format)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("signature", type_=sa.Text(), existing_type=sa.String(length=132), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("signature", type_=sa.String(length=132), existing_type=sa.Text(), existing_nullable=False)
