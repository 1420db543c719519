"""The `attestpay` command: what a newcomer, an operator and an auditor run."""
