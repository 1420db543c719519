"""The audit pack of one agreement: one zip an external auditor re-verifies offline.

`build` takes the auditor's `History` and its verdict (so the pack says only what the chain says),
and adds the published evidence, the metric specs, the anchoring batch files, each attestation's
Merkle proof, a PDF/A report and a manifest of sha256 hashes. `verify` re-checks it all with the
same functions the escrow and the auditor use (typed data, signatures, payout formula, the spec
over the evidence bytes); `verify_on_chain` also compares the pack with the chain itself."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from eth_utils import keccak
from web3 import Web3

from attestpay import payout, typed_data
from attestpay.terms import ETH, AgreementTerms, Attestation
from attestpay.verify import InvalidAttestation, signers_of_digest
from auditor import history as chain_history
from auditor.checks import AgreementLedger, Auditor
from auditor.history import History, milestone_of
from auditor.pack_pdf import render
from oracle.anchoring import AttestationBatch
from oracle.errors import EvidenceError
from oracle.evidence import EvidenceStore
from oracle.measure import value_from_evidence
from oracle.spec import MetricSpec

FORMAT = "attestpay-audit-pack/2"  # 2: each settlement records its signers' revocations
MANIFEST = "manifest.json"


class PackError(Exception):
    """The pack cannot be built or read (not a failed check: bad input)."""


def build(w3: Web3, escrow: str, start_block: int, evidence: EvidenceStore, agreement_id: str) -> dict[str, bytes]:
    """Every file of the pack, by name, the manifest included."""
    history = chain_history.read(w3, escrow, start_block)
    auditor = Auditor(history, evidence)
    verdicts = {v.agreement_id: v for v in auditor.run(w3)}
    agreement = auditor.agreements.get(agreement_id.lower())
    if agreement is None:
        raise PackError(f"no agreement {agreement_id} on escrow {escrow} since block {start_block}")
    files: dict[str, bytes] = {}
    settlements = [
        _settlement(history, evidence, agreement, s, files) for s in history.settlements if _of(s.event, agreement)
    ]
    created = next(e for e in history.of("AgreementCreated") if e["args"]["agreementId"] == agreement.agreement_id)
    verdict = verdicts[agreement.agreement_id]
    pack = {
        "format": FORMAT,
        "chainId": history.chain_id,
        "escrow": history.escrow,
        "registry": history.registry,
        "startBlock": start_block,
        "headBlock": history.head,
        "agreementId": agreement.agreement_id,
        "token": _token(w3, agreement.token),
        "terms": created["args"]["terms"],
        "milestones": agreement.milestones,
        "oracleSets": [list(entry) for entry in agreement.oracle_sets],
        "settlements": settlements,
        "events": [e for e in history.events if _of(e, agreement)],
        "batches": {s["anchoring"]["root"]: history.batches[s["anchoring"]["root"]] for s in settlements},
        "audit": {"passed": verdict.passed, "failures": verdict.failures, "notes": verdict.notes},
    }
    files["pack.json"] = json.dumps(pack, indent=2).encode()
    files["report.pdf"] = render(
        pack, {k.removeprefix("evidence/"): v for k, v in files.items() if k.startswith("evidence/")}
    )
    files[MANIFEST] = json.dumps(
        {"sha256": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(files.items())}}, indent=2
    ).encode()
    return files


def _of(event: dict, agreement: AgreementLedger) -> bool:
    return event["args"].get("agreementId") == agreement.agreement_id


def _settlement(history: History, store: EvidenceStore, agreement: AgreementLedger, s, files: dict[str, bytes]) -> dict:
    """One settlement as the pack records it, its evidence, spec, batch file and proof added to `files`."""
    att, e = s.attestation, s.event
    digest = typed_data.attestation_digest(att, history.chain_id, history.escrow)
    oracles, threshold = agreement.oracles_at(e["blockNumber"])
    try:
        signers = signers_of_digest(digest, s.signatures, {bytes.fromhex(o[2:]) for o in oracles}, threshold)
    except InvalidAttestation:
        signers = []  # the verdict says why; the pack still records what was sent
    for key in (att.metric_id, att.evidence_hash):
        files[f"evidence/0x{key.hex()}"] = _published(store, key)
    anchoring = _anchoring(history, store, digest, files)
    figures = payout.compute(s.milestone, att.value, att.observed_at)
    return {
        "index": e["args"]["index"],
        "transactionHash": e["transactionHash"],
        "blockNumber": e["blockNumber"],
        "logIndex": e["logIndex"],
        "attestation": _plain(dataclasses.asdict(att)),
        "digest": "0x" + digest.hex(),
        "signatures": "0x" + s.signatures.hex(),
        "signers": signers,
        "revocations": revocations(history, "0x" + digest.hex()),
        "anchoring": anchoring,
        "payout": dataclasses.asdict(figures),
        "settled": {k: e["args"][k] for k in ("paidNow", "holdback", "refund")},
    }


def revocations(history: History, digest: str) -> list[dict]:
    """Every oracle's withdrawal of its own signature of `digest` in the registry, in chain order
    (before or after the settlement: `verify` tells them apart by block and log index)."""
    return [
        {k: e[k] for k in ("transactionHash", "blockNumber", "logIndex")} | {"signer": e["args"]["signer"]}
        for e in history.of("SignatureRevoked")
        if e["args"]["digest"] == digest
    ]


def _published(store: EvidenceStore, key: bytes) -> bytes:
    try:
        return store.get(key)
    except EvidenceError as exc:
        raise PackError(f"evidence: {exc}") from None


def _anchoring(history: History, store: EvidenceStore, digest: bytes, files: dict[str, bytes]) -> dict:
    """The batch that anchored `digest`, its published file and the attestation's Merkle proof."""
    leaf = "0x" + typed_data.registry_leaf(digest).hex()
    for root, (block, uri) in history.batches.items():
        if not uri.startswith("evidence:0x"):
            continue
        raw = _published(store, bytes.fromhex(uri.removeprefix("evidence:0x")))
        dump = json.loads(raw)
        if leaf not in dump["tree"]:
            continue
        batch = AttestationBatch(
            tuple(bytes.fromhex(v["value"][0][2:]) for v in dump["values"]),
            tuple(bytes.fromhex(n[2:]) for n in dump["tree"]),
        )
        if "0x" + batch.root.hex() != root:
            continue
        files[f"evidence/{uri.removeprefix('evidence:')}"] = raw
        proof = {
            "attestation": "0x" + digest.hex(),
            "leaf": leaf,
            "root": root,
            "proof": ["0x" + p.hex() for p in batch.proof(digest)],
        }
        files[f"proofs/0x{digest.hex()}.json"] = json.dumps(proof, indent=2).encode()
        return {"root": root, "blockNumber": block, "uri": uri, "proof": f"proofs/0x{digest.hex()}.json"}
    raise PackError(f"attestation 0x{digest.hex()} is in no published batch anchored in the registry")


def _token(w3: Web3, token: str) -> dict:
    if token == ETH:
        return {"address": token, "symbol": "ETH", "decimals": 18}
    erc20 = w3.eth.contract(address=Web3.to_checksum_address(token), abi=_ERC20)
    return {"address": token, "symbol": erc20.functions.symbol().call(), "decimals": erc20.functions.decimals().call()}


_ERC20 = [
    {"type": "function", "name": n, "inputs": [], "outputs": [{"type": t}], "stateMutability": "view"}
    for n, t in (("symbol", "string"), ("decimals", "uint8"))
]


def _plain(d: dict) -> dict:
    return {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in d.items()}


# ---------------------------------------------------------------------------------------------- files


def write(files: dict[str, bytes], path: Path) -> None:
    path.write_bytes(as_zip(files))


def as_zip(files: dict[str, bytes]) -> bytes:
    """The pack as one zip, files in name order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            z.writestr(name, data)
    return out.getvalue()


def read(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as z:
            return {name: z.read(name) for name in z.namelist()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackError(f"cannot read the pack {path}: {exc}") from None


# ---------------------------------------------------------------------------------------------- verification


def verify(files: dict[str, bytes]) -> list[str]:
    """Every failure found offline, each naming what failed; empty: the pack checks out."""
    failures = _manifest(files)
    try:
        pack = json.loads(files["pack.json"])
        if pack.get("format") != FORMAT:
            raise PackError(f"pack.json is not an {FORMAT}")
        terms = _terms(pack["terms"])
        agreement = AgreementLedger(
            pack["agreementId"], terms.token, terms.client, terms.provider,
            [(b, tuple(o), t) for b, o, t in pack["oracleSets"]], pack["milestones"],
        )  # fmt: skip
    except (KeyError, ValueError, TypeError) as exc:
        raise PackError(f"pack.json is not a readable audit pack: {exc!r}") from None
    if "0x" + typed_data.terms_hash(terms).hex() != pack["agreementId"]:
        failures.append("pack.json: the terms do not hash to the agreement id")
    for number, s in enumerate(pack.get("settlements", [])):
        try:
            where = f"milestone {s['index']} (tx {s['transactionHash']})"
            failures += [f"{where}: {f}" for f in _settlement_failures(pack, agreement, s, files)]
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            failures.append(f"pack.json: settlement {number} is malformed ({exc!r})")
    try:
        failures += _release_failures(pack)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        failures.append(f"pack.json: the events are malformed ({exc!r})")
    return failures


def _release_failures(pack: dict) -> list[str]:
    """Each holdback released is the one the settlement held back; each dispute split is the formula's."""
    held = {s["index"]: s["settled"]["holdback"] for s in pack["settlements"]}
    failures = []
    for e in pack["events"]:
        a, where = e["args"], f"{e['event']} of milestone {e['args'].get('index')} (tx {e['transactionHash']})"
        if e["event"] == "HoldbackReleased" and a["amount"] != held.get(a["index"]):
            failures.append(f"{where}: released {a['amount']}, the settlement held back {held.get(a['index'])}")
        elif e["event"] == "DisputeResolved":
            m = pack["milestones"][a["index"]]
            disputed = held.get(a["index"], 0) if a["holdback"] else m["amount"] + m["bonus"]
            split = payout.dispute_split(disputed, a["providerShareBps"])
            if (a["toProvider"], a["toClient"]) != split:
                failures.append(f"{where}: split {a['toProvider']} + {a['toClient']}, the formula gives {split}")
    return failures


def _manifest(files: dict[str, bytes]) -> list[str]:
    try:
        listed = json.loads(files[MANIFEST])["sha256"]
    except (KeyError, ValueError) as exc:
        raise PackError(f"the pack has no readable {MANIFEST}: {exc!r}") from None
    failures = [f"{n}: not in the manifest" for n in sorted(set(files) - set(listed) - {MANIFEST})]
    for name, sha in sorted(listed.items()):
        if name not in files:
            failures.append(f"{name}: listed in the manifest, missing from the pack")
        elif hashlib.sha256(files[name]).hexdigest() != sha:
            failures.append(f"{name}: its sha256 is not the manifest's")
    return failures


def _terms(t: dict) -> AgreementTerms:
    snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in t.items()}
    for k in ("docs_hash", "salt", "milestones_root"):
        snake[k] = bytes.fromhex(snake[k][2:])
    snake["oracles"] = tuple(snake["oracles"])
    return AgreementTerms(**snake)


def _settlement_failures(pack: dict, agreement: AgreementLedger, s: dict, files: dict[str, bytes]) -> list[str]:
    a = s["attestation"]
    fields: dict[str, Any] = {k: bytes.fromhex(v[2:]) if isinstance(v, str) else v for k, v in a.items()}
    att = Attestation(**fields)
    failures = []
    if "0x" + att.agreement_id.hex() != pack["agreementId"] or att.milestone_index != s["index"]:
        failures.append("the attestation is for another agreement or milestone")
    digest = typed_data.attestation_digest(att, pack["chainId"], pack["escrow"])
    if "0x" + digest.hex() != s["digest"]:
        failures.append("the attestation's EIP-712 digest is not the one recorded")
    oracles, threshold = agreement.oracles_at(s["blockNumber"])
    settled_at = (s["blockNumber"], s["logIndex"])
    withdrawn = frozenset(
        bytes.fromhex(r["signer"][2:]) for r in s["revocations"] if (r["blockNumber"], r["logIndex"]) < settled_at
    )
    try:
        signers = signers_of_digest(
            digest, bytes.fromhex(s["signatures"][2:]), {bytes.fromhex(o[2:]) for o in oracles}, threshold, withdrawn
        )
        if signers != s["signers"]:
            failures.append(f"the signatures recover to {signers}, the pack names {s['signers']}")
    except InvalidAttestation as exc:
        failures.append(f"signatures: {exc} (oracle set at block {s['blockNumber']}, threshold {threshold})")
    milestone = milestone_of(agreement.milestones[s["index"]])
    if att.metric_id != milestone.metric_id:
        failures.append("the attested metric id is not the milestone's")
    failures += _evidence_failures(att, files)
    failures += _anchoring_failures(pack, s, digest, files)
    figures = dataclasses.asdict(payout.compute(milestone, att.value, att.observed_at))
    for name, value in figures.items():
        if s["payout"].get(name) != value:
            failures.append(f"payout step {name}: the pack says {s['payout'].get(name)}, the formula gives {value}")
    for event_key, name in (("paidNow", "paid_now"), ("holdback", "holdback"), ("refund", "refund")):
        if s["settled"][event_key] != figures[name]:
            failures.append(
                f"settled {event_key}: the pack says {s['settled'][event_key]}, the formula gives {figures[name]}"
            )
    return failures


def _evidence_failures(att: Attestation, files: dict[str, bytes]) -> list[str]:
    spec_name, evidence_name = f"evidence/0x{att.metric_id.hex()}", f"evidence/0x{att.evidence_hash.hex()}"
    if spec_name not in files or evidence_name not in files:
        return [f"{spec_name if spec_name not in files else evidence_name}: missing from the pack"]
    try:
        spec = MetricSpec.model_validate_json(files[spec_name])
    except ValueError:
        return [f"{spec_name}: not a metric spec"]
    failures = []
    if spec.metric_id != att.metric_id:
        failures.append(f"{spec_name}: the spec's canonical hash is 0x{spec.metric_id.hex()}, not the metric id")
    raw = files[evidence_name]
    if keccak(raw) != att.evidence_hash:
        return failures + [f"{evidence_name}: the evidence bytes hash to 0x{keccak(raw).hex()}, not the evidence hash"]
    value, _, _ = value_from_evidence(spec, raw, att.observed_at)
    if value != att.value:
        failures.append(f"{evidence_name}: the spec gives {value} over the evidence, the oracles attested {att.value}")
    return failures


def _anchoring_failures(pack: dict, s: dict, digest: bytes, files: dict[str, bytes]) -> list[str]:
    anchoring = s["anchoring"]
    if anchoring["root"] not in pack["batches"]:
        return [f"anchoring: root {anchoring['root']} is not among the pack's anchored roots"]
    try:
        proof = json.loads(files[anchoring["proof"]])
    except (KeyError, ValueError):
        return [f"{anchoring['proof']}: missing or unreadable"]
    node = typed_data.registry_leaf(digest)
    for sibling in proof["proof"]:
        node = typed_data.hash_pair(node, bytes.fromhex(sibling[2:]))
    if "0x" + node.hex() != anchoring["root"]:
        return [f"{anchoring['proof']}: the Merkle proof does not lead to the anchored root {anchoring['root']}"]
    return []


def verify_on_chain(files: dict[str, bytes], w3: Web3) -> list[str]:
    """The pack's events and anchored roots are the chain's own (read again, as the auditor reads it)."""
    pack = json.loads(files["pack.json"])  # readable: `verify` ran first
    if w3.eth.chain_id != pack["chainId"]:
        return [f"the chain at the RPC is chain {w3.eth.chain_id}, the pack is of chain {pack['chainId']}"]
    history = chain_history.read(w3, pack["escrow"], pack["startBlock"])
    on_chain = [e for e in history.events if e["args"].get("agreementId") == pack["agreementId"]]
    on_chain = [e for e in on_chain if e["blockNumber"] <= pack["headBlock"]]
    failures = []
    recorded = {(e["transactionHash"], e["logIndex"]): e for e in on_chain}
    for e in pack["events"]:
        if recorded.get((e["transactionHash"], e["logIndex"])) != e:
            failures.append(
                f"chain: {e['event']} in tx {e['transactionHash']} (block {e['blockNumber']}) "
                "is not on chain as recorded"
            )
    if len(on_chain) != len(pack["events"]):
        failures.append(
            f"chain: {len(on_chain)} events of the agreement up to block {pack['headBlock']}, "
            f"the pack records {len(pack['events'])}"
        )
    for s in pack["settlements"]:
        if s["revocations"] != revocations(history, s["digest"]):
            failures.append(
                f"chain: the revocations of attestation {s['digest']} are not the registry's "
                f"({len(revocations(history, s['digest']))} on chain, {len(s['revocations'])} in the pack)"
            )
    for root, (block, uri) in pack["batches"].items():
        if list(history.batches.get(root, ())) != [block, uri]:
            failures.append(f"chain: root {root} was not anchored in the registry at block {block}")
    return failures
