"""Deploys the escrow and the registry to a JSON-RPC chain from an encrypted keystore and writes
the deployment file the backend (ATTESTPAY_DEPLOYMENT_FILE) and the oracle read; the same as
`attestpay deploy`.

    python scripts/deploy.py --rpc http://127.0.0.1:8545 --keystore deployer.json --out deployment.json

The keystore's password comes from --password-file, else ATTESTPAY_DEPLOYER_PASSWORD, else a
prompt. Exit status: 0 deployed, 2 bad input or a chain that refused."""

from __future__ import annotations

import sys

from attestpay_cli.main import app

if __name__ == "__main__":
    app(["deploy", *sys.argv[1:]])
