"""The oracle: measures an agreed metric from real evidence and signs EIP-712 attestations."""
