"""AttestPay's shared core: what the oracle, the backend and the auditor all need."""
