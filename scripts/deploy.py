"""Deploys the escrow and the registry to a JSON-RPC chain from an encrypted keystore and writes
the deployment file the backend (ATTESTPAY_DEPLOYMENT_FILE) and the oracle read.

    python scripts/deploy.py --rpc http://127.0.0.1:8545 --keystore deployer.json --out deployment.json

The keystore's password comes from --password-file, else ATTESTPAY_DEPLOYER_PASSWORD, else a
prompt. Exit status: 0 deployed, 2 bad input or a chain that refused."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from eth_account import Account
from web3 import HTTPProvider, Web3

from attestpay.deployment import DeploymentError, deploy_contracts, write


def password(file: Path | None) -> str:
    if file is not None:
        return file.read_text().splitlines()[0]
    return os.environ.get("ATTESTPAY_DEPLOYER_PASSWORD") or getpass.getpass("keystore password: ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rpc", required=True, help="the chain's JSON-RPC URL")
    parser.add_argument("--keystore", required=True, type=Path, help="the deployer's encrypted keystore (eth-account v3 JSON)")
    parser.add_argument("--password-file", type=Path)
    parser.add_argument("--confirmations", type=int, default=1, help="blocks that must hold the deployment (default 1)")
    parser.add_argument("--out", type=Path, default=Path("deployment.json"))
    parser.add_argument("--json", action="store_true", help="print the deployment as JSON")
    args = parser.parse_args(argv)
    try:
        key = Account.decrypt(json.loads(args.keystore.read_text()), password(args.password_file))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot open the keystore {args.keystore}: {exc}", file=sys.stderr)
        return 2
    w3 = Web3(HTTPProvider(args.rpc, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        print(f"error: no JSON-RPC node answers at {args.rpc}", file=sys.stderr)
        return 2
    say = (lambda _: None) if args.json else (lambda line: print(line, file=sys.stderr))
    try:
        deployment = deploy_contracts(w3, Account.from_key(key), args.confirmations, progress=say)
    except DeploymentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write(deployment, args.out)
    print(json.dumps(deployment, indent=2) if args.json else f"wrote {args.out}: escrow {deployment['escrow']}, registry {deployment['registry']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
