"""AttestPay's off-chain manager of agreements: FastAPI over SQLAlchemy, with the escrow on-chain."""
