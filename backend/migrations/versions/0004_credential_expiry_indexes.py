"""credential expiry indexes"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # The worker deletes expired nonces and sessions (backend.engine.purge) by these columns.
    op.create_index("ix_sign_in_nonces_expires_at", "sign_in_nonces", ["expires_at"])
    op.create_index("ix_wallet_sessions_expires_at", "wallet_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_wallet_sessions_expires_at", "wallet_sessions")
    op.drop_index("ix_sign_in_nonces_expires_at", "sign_in_nonces")
