"""The audit pack from the command line: `attestpay report audit-pack` builds it from the chain and
the published evidence; `attestpay verify --pack FILE [--rpc URL]` re-verifies it (auditor/pack.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from web3 import HTTPProvider, Web3

from attestpay_cli import Failed


@click.command("audit-pack")
@click.argument("agreement_id")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="a directory, or the FILE.zip to write")
@click.option("--rpc", required=True, envvar="ATTESTPAY_RPC_URL", help="the chain's JSON-RPC URL")
@click.option(
    "--deployment",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the deployment file (escrow address and start block)",
)
@click.option("--escrow", help="the escrow's address (instead of --deployment)")
@click.option(
    "--evidence",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="the published evidence store: batch files, metric specs, evidence bytes",
)
def audit_pack(agreement_id: str, out: Path, rpc: str, deployment: Path | None, escrow: str | None, evidence: Path):
    """One agreement's audit pack: pack.json, evidence, Merkle proofs, a PDF/A report and a manifest, in one zip."""
    from auditor import pack
    from oracle.evidence import EvidenceStore

    try:
        deployed = json.loads(deployment.read_text()) if deployment else {}
    except ValueError as exc:
        raise Failed(f"cannot read the deployment file {deployment}: {exc}") from None
    escrow = escrow or deployed.get("escrow")
    if not escrow or not Web3.is_address(escrow):
        raise Failed("give --deployment or --escrow with the escrow's address")
    if not (agreement_id.startswith("0x") and len(agreement_id) == 66):
        raise Failed(f"{agreement_id!r} is not an agreement id (0x and 64 hex digits)")
    target = out if out.suffix == ".zip" else out / f"audit-pack-{agreement_id[:10]}.zip"
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60}))
    try:
        files = pack.build(
            w3, Web3.to_checksum_address(escrow), deployed.get("block", 0), EvidenceStore(evidence), agreement_id
        )
    except pack.PackError as exc:
        raise Failed(str(exc)) from None
    except (ConnectionError, OSError) as exc:
        raise Failed(f"the chain at {rpc} did not answer: {exc}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    pack.write(files, target)
    click.echo(f"wrote {target} ({len(files)} files)")


@click.command("verify-pack")
@click.option("--pack", "path", required=True, type=click.Path(path_type=Path), help="the audit pack (zip)")
@click.option("--rpc", help="also check the events, roots and transactions against this chain")
def verify_pack(path: Path, rpc: str | None) -> None:
    """Re-verify an audit pack offline; with --rpc, against the chain too. Exit 1 when a check fails."""
    from auditor import pack

    try:
        files = pack.read(path)
        failures = pack.verify(files)
        if rpc:
            failures += pack.verify_on_chain(files, Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60})))
    except pack.PackError as exc:
        raise Failed(str(exc)) from None
    except (ConnectionError, OSError) as exc:
        raise Failed(f"the chain at {rpc} did not answer: {exc}") from None
    for failure in failures:
        click.echo(f"FAILED {failure}")
    where = "offline and against the chain" if rpc else "offline"
    click.echo(f"{path}: {'DISCREPANCIES FOUND' if failures else 'every check passes'} ({where})")
    sys.exit(1 if failures else 0)
