"""`attestpay-oracle`: measure, attest, anchor, proof, revoke, keys. Human output by default,
`--json` for scripts; every error is a message a person can act on (exit 1), usage errors exit 2.
Settings come from options or ORACLE_* environment variables."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from web3 import HTTPProvider, Web3

from attestpay import typed_data
from attestpay.contracts import contract_at
from attestpay.process import restore_recursion_limit
from oracle.batcher import AnchorQueue
from oracle.coordinator import MeasurementRequest, OracleNode
from oracle.errors import OracleError
from oracle.evidence import EvidenceStore
from oracle.measure import measure as measure_spec
from oracle.registry import revoke as revoke_attestation
from oracle.signer import OracleSigner, create_keystore, read_password
from oracle.spec import load_spec

_data = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    envvar="ORACLE_DATA_DIR",
    show_default=True,
    help="where file sources' paths start",
)
_evidence = click.option(
    "--evidence",
    type=click.Path(file_okay=False, path_type=Path),
    default="evidence",
    envvar="ORACLE_EVIDENCE_DIR",
    show_default=True,
)
_queue = click.option(
    "--queue",
    type=click.Path(file_okay=False, path_type=Path),
    default="anchor-queue",
    envvar="ORACLE_QUEUE_DIR",
    show_default=True,
)
_keystore = click.option(
    "--keystore", type=click.Path(dir_okay=False, path_type=Path), envvar="ORACLE_KEYSTORE", required=True
)
_password_file = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ORACLE_PASSWORD_FILE",
    help="else ORACLE_KEYSTORE_PASSWORD",
)
_rpc = click.option("--rpc", envvar="ORACLE_RPC_URL", required=True, help="JSON-RPC URL of the chain")
_registry = click.option("--registry", envvar="ORACLE_REGISTRY", required=True, help="AttestationRegistry address")
_json = click.option("--json", "as_json", is_flag=True, help="machine-readable output")


def _hex32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise click.BadParameter(f"{value} is not 32 bytes of hex")
    return raw


def _emit(as_json: bool, data: dict, human: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else human)


def _signer(keystore: Path, password_file: Path | None) -> OracleSigner:
    return OracleSigner.from_keystore(keystore, read_password(password_file))


@click.group()
def main() -> None:
    """The AttestPay oracle: measure metrics from evidence, sign and anchor attestations."""


@main.command()
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--at", "observed_at", type=int, help="observation time (unix seconds; default now)")
@_data
@_evidence
@_json
def measure(spec_file: Path, observed_at: int | None, data: Path, evidence: Path, as_json: bool) -> None:
    """Measure SPEC_FILE and print the value and evidence hash; signs nothing."""
    spec = load_spec(spec_file.read_text())
    m = measure_spec(spec, data, EvidenceStore(evidence), observed_at or int(time.time()))
    out = {
        "metricId": "0x" + spec.metric_id.hex(),
        "value": m.value,
        "observedAt": m.observed_at,
        "evidenceHash": "0x" + m.evidence_hash.hex(),
        "used": m.used,
        "ignored": m.ignored,
    }
    _emit(
        as_json,
        out,
        f"{spec.name}: {m.value} (10^-{spec.decimals} {spec.unit}) from {m.used} points, "
        f"{m.ignored} outside the window\nevidence 0x{m.evidence_hash.hex()}",
    )


@main.command()
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agreement", required=True, help="agreement id (0x, 32 bytes)")
@click.option("--milestone", "milestone_index", type=int, required=True)
@click.option("--escrow", required=True, help="MilestoneEscrow address (the EIP-712 verifying contract)")
@click.option("--chain-id", type=int, required=True)
@click.option("--at", "observed_at", type=int, help="observation time (unix seconds; default now)")
@click.option("--valid-for", type=int, default=86_400, show_default=True, help="seconds until the attestation expires")
@_data
@_evidence
@_queue
@_keystore
@_password_file
@_json
def attest(
    spec_file,
    agreement,
    milestone_index,
    escrow,
    chain_id,
    observed_at,
    valid_for,
    data,
    evidence,
    queue,
    keystore,
    password_file,
    as_json,
):  # noqa: PLR0913 - one option each
    """Measure SPEC_FILE, sign the attestation, and queue it for the next anchoring batch."""
    signer = _signer(keystore, password_file)
    node = OracleNode(signer, data, EvidenceStore(evidence), chain_id, Web3.to_checksum_address(escrow))
    at = observed_at or int(time.time())
    request = MeasurementRequest(
        _hex32(agreement), milestone_index, load_spec(spec_file.read_text()), at, at + valid_for
    )
    measured = node.measure(request)
    att = node.attestation(request, measured)
    signature = signer.sign_attestation(att, chain_id, node.escrow)
    digest = typed_data.attestation_digest(att, chain_id, node.escrow)
    AnchorQueue(queue).add(digest)
    out = {
        "attestation": att.to_json(),
        "digest": "0x" + digest.hex(),
        "signer": signer.address,
        "signature": "0x" + signature.hex(),
        "used": measured.used,
        "ignored": measured.ignored,
    }
    _emit(
        as_json,
        out,
        f"signed value {att.value} ({measured.used} points, {measured.ignored} outside the window) as {signer.address}"
        f"\ndigest 0x{digest.hex()}\nsignature 0x{signature.hex()}",
    )


@main.command()
@_rpc
@_registry
@_evidence
@_queue
@_keystore
@_password_file
@_json
def anchor(rpc, registry, evidence, queue, keystore, password_file, as_json):
    """Anchor every queued attestation as one Merkle batch in the registry."""
    w3 = Web3(HTTPProvider(rpc))
    record = AnchorQueue(queue).anchor_pending(
        w3, contract_at(w3, "AttestationRegistry", registry), _signer(keystore, password_file), EvidenceStore(evidence)
    )
    if record is None:
        _emit(as_json, {"anchored": None}, "nothing to anchor")
        return
    _emit(
        as_json,
        {"root": "0x" + record.root.hex(), "uri": record.uri, "attestations": len(record.digests)},
        f"anchored {len(record.digests)} attestations, root 0x{record.root.hex()}, batch file {record.uri}",
    )


@main.command()
@click.argument("digest")
@_queue
@_json
def proof(digest, queue, as_json):
    """Print the anchored root and inclusion proof of an attestation DIGEST."""
    root, path = AnchorQueue(queue).proof(_hex32(digest))
    out = {"root": "0x" + root.hex(), "proof": ["0x" + p.hex() for p in path]}
    _emit(as_json, out, "\n".join([f"root 0x{root.hex()}", *out["proof"]]))


@main.command()
@click.argument("digest")
@_rpc
@_registry
@_keystore
@_password_file
def revoke(digest, rpc, registry, keystore, password_file):
    """Withdraw your signature of attestation DIGEST; the escrow stops counting it (the attestation
    still settles if enough other members signed it and did not revoke)."""
    w3 = Web3(HTTPProvider(rpc))
    signer = _signer(keystore, password_file)
    revoke_attestation(w3, contract_at(w3, "AttestationRegistry", registry), signer, _hex32(digest))
    click.echo(f"revoked {signer.address}'s signature of 0x{_hex32(digest).hex()}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8600, show_default=True)
@click.option("--api-key", envvar="ORACLE_API_KEY", required=True, help="callers send it as X-API-Key")
@click.option("--escrow", envvar="ORACLE_ESCROW", required=True, help="MilestoneEscrow address")
@click.option("--chain-id", envvar="ORACLE_CHAIN_ID", type=int, required=True)
@click.option("--backend", envvar="ORACLE_BACKEND_URL", help="where signed attestations are pushed")
@click.option("--backend-api-key", envvar="ORACLE_BACKEND_API_KEY", default="")
@_data
@_evidence
@_queue
@_keystore
@_password_file
def serve(
    host, port, api_key, escrow, chain_id, backend, backend_api_key, data, evidence, queue, keystore, password_file
):  # noqa: PLR0913
    """Run this node's HTTP service (measure and sign, co-sign, proofs)."""
    import uvicorn

    from oracle.service import BackendPush, create_app

    node = OracleNode(
        _signer(keystore, password_file), data, EvidenceStore(evidence), chain_id, Web3.to_checksum_address(escrow)
    )
    push = BackendPush(backend, backend_api_key) if backend else None
    uvicorn.run(create_app(node, AnchorQueue(queue), api_key, push), host=host, port=port, log_level="warning")


@main.group()
def keys() -> None:
    """Create or import an encrypted oracle keystore."""


@keys.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_password_file
def keys_create(path: Path, password_file: Path | None) -> None:
    """Write a new encrypted keystore to PATH and print its address."""
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a key")
    click.echo(create_keystore(path, read_password(password_file)))


@keys.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_password_file
def keys_import(path: Path, password_file: Path | None) -> None:
    """Encrypt a private key read from standard input into PATH."""
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a key")
    key = sys.stdin.readline().strip()
    try:
        click.echo(
            create_keystore(path, read_password(password_file), private_key=bytes.fromhex(key.removeprefix("0x")))
        )
    except ValueError:
        raise click.ClickException("standard input is not a 32-byte hex private key") from None


def run() -> None:
    """Entry point: oracle errors become one-line messages and exit status 1."""
    restore_recursion_limit()
    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OracleError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
