"""`python -m auditor --rpc URL --deployment deployment.json [--evidence DIR] [--anchor-window S] [--json F]
[--html F]`:
the verdict per agreement, the reason for every discrepancy. Exit status: 0 every payout checks
out (settlements whose anchoring is still within the nodes' window are warnings), 1 a
discrepancy, 2 bad input or an unreachable chain."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from web3 import HTTPProvider, Web3

from attestpay.process import restore_recursion_limit
from auditor import audit
from auditor.report import as_html


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """A usage mistake in one line, with where to look."""
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None, prog: str = "attestpay-audit") -> int:
    parser = _Parser(
        prog=prog,
        description="Re-verify every payout of an escrow from chain data and the published evidence. Exit status: "
        "0 every payout checks out, 1 a discrepancy, 2 bad input or an unreachable chain.",
    )
    parser.add_argument("--rpc", required=True, help="the chain's JSON-RPC URL")
    parser.add_argument("--deployment", type=Path, help="the deployment file (escrow address and start block)")
    parser.add_argument("--escrow", help="the escrow's address (instead of --deployment)")
    parser.add_argument(
        "--from-block", type=int, help="where to start reading (default: the deployment's block, else 0)"
    )
    parser.add_argument(
        "--evidence", type=Path, help="the published evidence store: batch files, metric specs, evidence bytes"
    )
    parser.add_argument(
        "--anchor-window",
        type=float,
        default=300.0,
        help="the oracle nodes' anchoring window in seconds (default 300): a settled attestation not yet "
        "anchored is a warning for this long (plus 60 s), a discrepancy after",
    )
    parser.add_argument("--json", type=Path, help="write the JSON report here ('-': standard output)")
    parser.add_argument("--html", type=Path, help="write the printable HTML report here")
    args = parser.parse_args(argv)
    try:
        deployment = json.loads(args.deployment.read_text()) if args.deployment else {}
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the deployment file: {exc}", file=sys.stderr)
        return 2
    escrow = args.escrow or deployment.get("escrow")
    if not escrow or not Web3.is_address(escrow):
        print("error: give --deployment or --escrow with the escrow's address", file=sys.stderr)
        return 2
    if args.evidence and not args.evidence.is_dir():
        print(f"error: no evidence directory {args.evidence}", file=sys.stderr)
        return 2
    start = args.from_block if args.from_block is not None else deployment.get("block", 0)

    def progress(done: int, total: int) -> None:
        print(f"\rreading the chain: block {done:,} of {total:,}", end="", file=sys.stderr, flush=True)

    try:
        w3 = Web3(HTTPProvider(args.rpc, request_kwargs={"timeout": 60}))
        problem = _wrong_chain(w3, args.rpc, Web3.to_checksum_address(escrow), deployment.get("chainId"))
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        report = audit(w3, Web3.to_checksum_address(escrow), start, args.evidence, progress, args.anchor_window)
    except (ConnectionError, OSError) as exc:
        print(f"\nerror: the chain at {args.rpc} did not answer: {exc}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    if args.json:
        text = json.dumps(report, indent=2)
        sys.stdout.write(text + "\n") if str(args.json) == "-" else args.json.write_text(text + "\n")
    if args.html:
        args.html.write_text(as_html(report))
    if str(args.json) != "-":
        for a in report["agreements"]:
            print(f"{a['agreementId']}: {'passed' if a['passed'] else 'FAILED'} ({a['settlements']} settlements)")
            for failure in a["failures"]:
                print(f"  - {failure}")
            for pending in a["pending"]:
                print(f"  ~ warning: {pending}")
        print(
            f"{report['settlementsVerified']} settlements verified: "
            f"{'every payout checks out' if report['passed'] else 'DISCREPANCIES FOUND'}"
        )
        if report["anchoringPending"]:
            print(
                f"warning: {len(report['anchoringPending'])} settled attestations are not anchored yet, "
                "within the oracle nodes' anchoring window (not a discrepancy; verify again after the window)"
            )
    return 0 if report["passed"] else 1


def _wrong_chain(w3: Web3, rpc: str, escrow: str, expected_chain: int | None) -> str | None:
    """Why this node is not the escrow's chain, if it is not."""
    chain = w3.eth.chain_id
    if expected_chain is not None and expected_chain != chain:
        return (
            f"the deployment is on chain {expected_chain} but the node at {rpc} is chain {chain}: "
            "give that chain's --rpc"
        )
    if not w3.eth.get_code(Web3.to_checksum_address(escrow)):
        return (
            f"no contract at {escrow} on chain {chain} ({rpc}): give the --rpc of the chain the escrow was deployed on"
        )
    return None


def run() -> None:
    restore_recursion_limit()
    sys.exit(main())


if __name__ == "__main__":
    run()
