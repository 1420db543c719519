"""`attestpay-oracle`: measure, attest, anchor, proof, revoke, keys. Human output by default,
`--json` for scripts; every error is a message a person can act on (exit 1), usage errors exit 2.
Settings come from options or ORACLE_* environment variables."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import click
from web3 import HTTPProvider, Web3

from attestpay import typed_data
from attestpay.contracts import contract_at
from attestpay.process import restore_recursion_limit
from oracle.batcher import AnchorQueue
from oracle.errors import OracleError
from oracle.evidence import EvidenceStore
from oracle.measure import measure as measure_spec
from oracle.node import MeasurementRequest, OracleNode
from oracle.registry import revoke as revoke_attestation
from oracle.signer import OracleSigner, create_keystore, read_password
from oracle.spec import load_spec


def _directory(name: str, default: str, envvar: str, about: str | None = None):
    """An option naming one of the node's directories: `default` unless given here or in `envvar`."""
    path = click.Path(file_okay=False, path_type=Path)
    return click.option(name, type=path, default=default, envvar=envvar, show_default=True, help=about)


_data = _directory("--data", ".", "ORACLE_DATA_DIR", about="where file sources' paths start")
_evidence = _directory("--evidence", "evidence", "ORACLE_EVIDENCE_DIR")
_queue = _directory("--queue", "anchor-queue", "ORACLE_QUEUE_DIR")
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


def _anchor_queue(queue: Path) -> AnchorQueue:
    """The queue's database: ORACLE_QUEUE_URL (PostgreSQL in production), else SQLite in `queue`."""
    return AnchorQueue(os.environ.get("ORACLE_QUEUE_URL") or queue)


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
    _anchor_queue(queue).add(digest)
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
    record = _anchor_queue(queue).anchor_pending(
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
    root, path = _anchor_queue(queue).proof(_hex32(digest))
    out = {"root": "0x" + root.hex(), "proof": ["0x" + p.hex() for p in path]}
    _emit(as_json, out, "\n".join([f"root 0x{root.hex()}", *out["proof"]]))


@main.command()
@click.argument("digest")
@_rpc
@click.option("--escrow", envvar="ORACLE_ESCROW", required=True, help="MilestoneEscrow address")
@_keystore
@_password_file
def revoke(digest, rpc, escrow, keystore, password_file):
    """Withdraw your signature of attestation DIGEST; the escrow stops counting it (the attestation
    still settles if enough other members signed it and did not revoke)."""
    w3 = Web3(HTTPProvider(rpc))
    signer = _signer(keystore, password_file)
    revoke_attestation(w3, contract_at(w3, "MilestoneEscrow", escrow), signer, _hex32(digest))
    click.echo(f"revoked {signer.address}'s signature of 0x{_hex32(digest).hex()}")


def secret_setting(name: str, required: bool) -> str | None:
    """A secret from the environment (`NAME`) or a file (`NAME_FILE`, its first line), never from
    the command line, where `ps` shows it to every user of the machine."""
    if os.environ.get(name):
        return os.environ[name]
    if os.environ.get(name + "_FILE"):
        try:
            return Path(os.environ[name + "_FILE"]).read_text().splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise OracleError(f"cannot read {name}_FILE: {exc}") from None
    if required:
        raise OracleError(f"set {name} or {name}_FILE (a file holding it); secrets are never command-line options")
    return None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8600, show_default=True)
@click.option("--escrow", envvar="ORACLE_ESCROW", required=True, help="MilestoneEscrow address")
@click.option("--chain-id", envvar="ORACLE_CHAIN_ID", type=int, required=True)
@click.option("--backend", envvar="ORACLE_BACKEND_URL", help="where signed attestations are pushed")
@click.option("--rpc", envvar="ORACLE_RPC_URL", help="JSON-RPC URL: with --registry, the node anchors by itself")
@click.option("--registry", envvar="ORACLE_REGISTRY", help="AttestationRegistry address")
@click.option(
    "--anchor-batch-size",
    type=click.IntRange(min=1),
    default=100,
    envvar="ORACLE_ANCHOR_BATCH_SIZE",
    show_default=True,
    help="anchor as soon as this many attestations wait",
)
@click.option(
    "--anchor-window",
    type=click.FloatRange(min=0.1),
    default=300.0,
    envvar="ORACLE_ANCHOR_WINDOW_SECONDS",
    show_default=True,
    help="anchor once the oldest waiting attestation is this old (seconds)",
)
@_data
@_evidence
@_queue
@_keystore
@_password_file
def serve(  # noqa: PLR0913 - one option each
    host,
    port,
    escrow,
    chain_id,
    backend,
    rpc,
    registry,
    anchor_batch_size,
    anchor_window,
    data,
    evidence,
    queue,
    keystore,
    password_file,
):
    """Run this node's HTTP service (measure and sign, proofs, /metrics) and, given --rpc and
    --registry, its anchoring. Callers' key: ORACLE_API_KEY or ORACLE_API_KEY_FILE; the backend's
    key for pushes: ORACLE_BACKEND_API_KEY or ORACLE_BACKEND_API_KEY_FILE. Logs are JSON lines."""
    import uvicorn

    from attestpay.observability import json_logging
    from oracle.anchorer import Anchorer
    from oracle.service import BackendPush, create_app

    api_key = secret_setting("ORACLE_API_KEY", required=True)
    signer, store, anchor_queue = _signer(keystore, password_file), EvidenceStore(evidence), _anchor_queue(queue)
    node = OracleNode(signer, data, store, chain_id, Web3.to_checksum_address(escrow))
    push = BackendPush(backend, secret_setting("ORACLE_BACKEND_API_KEY", required=True)) if backend else None
    anchorer = None
    if rpc and registry:
        w3 = Web3(HTTPProvider(rpc))
        contract = contract_at(w3, "AttestationRegistry", registry)
        anchorer = Anchorer(anchor_queue, w3, contract, signer, store, anchor_batch_size, anchor_window)
    json_logging()
    if anchorer is None:
        logging.getLogger("oracle").warning("no --rpc and --registry: this node does not anchor by itself")
    app = create_app(node, anchor_queue, api_key, push, anchorer)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, log_config=None)


@main.group()
def keys() -> None:
    """Create or import an encrypted oracle keystore."""


def _refuse_overwrite(path: Path) -> None:
    """A keystore is never written over: the key in it may be the only copy."""
    if path.exists():
        raise click.ClickException(f"{path} exists; refusing to overwrite a key")


@keys.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_password_file
def keys_create(path: Path, password_file: Path | None) -> None:
    """Write a new encrypted keystore to PATH and print its address."""
    _refuse_overwrite(path)
    click.echo(create_keystore(path, read_password(password_file)))


@keys.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_password_file
def keys_import(path: Path, password_file: Path | None) -> None:
    """Encrypt a private key read from standard input into PATH."""
    _refuse_overwrite(path)
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
