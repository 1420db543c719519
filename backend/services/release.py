"""What a provider asks of the relayer: "measure now and settle if it qualifies" (the oracle
nodes are asked to measure at one chain time, so that their signatures are over the same
attestation; automation settles it once enough arrive), and "settle this partial result, I
accept it" (the provider's EIP-712 PartialAcceptance signature travels with the settlement)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from attestpay import payout, typed_data
from backend.chain import ChainGateway
from backend.db.models import Agreement, AttestationRecord, RelayIntent
from backend.errors import Conflict, InvalidInput, NotFound
from backend.services.access import require_party, require_read
from backend.services.auth import Principal
from backend.services.intents import enqueue, settle_key
from backend.services.wallet_tx import settle_call
from backend.settings import Settings

MEASURE_TIMEOUT = httpx.Timeout(30.0)


def _open_milestone(agreement: Agreement, index: int):
    if index >= len(agreement.milestones):
        raise InvalidInput(f"agreement {agreement.id} has no milestone {index}", field="index")
    if agreement.status != "active":
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; only a funded agreement settles")
    milestone = agreement.milestones[index]
    if milestone.status != "open":
        raise Conflict(f"milestone {index} is {milestone.status}")
    return milestone


def _acceptance(agreement: Agreement, record: AttestationRecord) -> tuple[dict, bytes]:
    """The PartialAcceptance message (JSON) for the record and its EIP-712 digest."""
    message = {
        "agreementId": agreement.agreement_id,
        "milestoneIndex": record.milestone_index,
        "value": record.value,
        "attestation": record.digest,
    }
    struct = typed_data.struct_hash(
        "PartialAcceptance",
        message
        | {
            "agreementId": bytes.fromhex(agreement.agreement_id[2:]),
            "attestation": bytes.fromhex(record.digest[2:]),
        },
    )
    return message, typed_data.digest(struct, agreement.chain_id, agreement.escrow)


def partial_acceptance_typed_data(
    session: Session, principal: Principal, agreement: Agreement, index: int, digest: str
) -> tuple[str, dict]:
    require_read(agreement, principal)
    message, acceptance_digest = _acceptance(agreement, _below_target(session, agreement, index, digest))
    return "0x" + acceptance_digest.hex(), typed_data.typed_data(
        "PartialAcceptance", message, agreement.chain_id, agreement.escrow
    )


def _below_target(session: Session, agreement: Agreement, index: int, digest: str) -> AttestationRecord:
    milestone = _open_milestone(agreement, index)
    record = session.get(AttestationRecord, digest)
    if record is None or record.agreement_pk != agreement.id or record.milestone_index != index:
        raise NotFound(f"no attestation {digest} for milestone {index} of agreement {agreement.id}")
    if payout.meets_target(milestone, record.value):
        raise Conflict("the value meets the target: it settles by itself, there is no partial result to accept")
    if len(record.signatures) < agreement.threshold:
        raise Conflict(f"attestation {digest} has {len(record.signatures)} of {agreement.threshold} signatures")
    return record


def accept_partial(
    session: Session,
    chain: ChainGateway,
    principal: Principal,
    agreement: Agreement,
    index: int,
    digest: str,
    signature: str,
) -> RelayIntent:
    """Queues the settlement of a below-target result with the provider's signed acceptance."""
    require_party(agreement, principal, "client", "provider", "arbiter")
    record = _below_target(session, agreement, index, digest)
    _, acceptance_digest = _acceptance(agreement, record)
    chain.require_party_signature(agreement.provider, acceptance_digest, signature, "the partial acceptance")
    key = settle_key(agreement, index)
    if not enqueue(
        session, key, "settle", settle_call(chain, agreement, record, bytes.fromhex(signature[2:])), agreement.id, index
    ):
        raise Conflict(f"milestone {index} is already being settled")
    session.commit()
    return session.scalar(select(RelayIntent).where(RelayIntent.key == key))


def request_release(
    session: Session, chain: ChainGateway, settings: Settings, principal: Principal, agreement: Agreement, index: int
) -> dict:
    """Asks every configured oracle node to measure the milestone now (at the chain's time) and
    push its signed result here; returns what each node answered."""
    require_party(agreement, principal, "provider")
    milestone = _open_milestone(agreement, index)
    if not settings.oracle_nodes:
        raise Conflict("no oracle nodes are configured (ATTESTPAY_ORACLE_NODES); the oracles must push by themselves")
    observed_at = chain.now()
    body = {
        "agreement_id": agreement.agreement_id,
        "milestone_index": index,
        "spec": milestone.spec,
        "observed_at": observed_at,
    }
    key = settings.oracle_node_api_key.get_secret_value() if settings.oracle_node_api_key else ""
    answers = []
    with httpx.Client(timeout=MEASURE_TIMEOUT, headers={"X-API-Key": key}) as http:
        for node in settings.oracle_nodes:
            try:
                response = http.post(node.rstrip("/") + "/v1/measurements", json=body)
            except httpx.HTTPError as exc:
                answers.append({"node": node, "ok": False, "detail": f"{type(exc).__name__}: {exc}"})
                continue
            if response.is_success:
                signed = response.json()
                answers.append(
                    {
                        "node": node,
                        "ok": True,
                        "value": signed["attestation"]["value"],
                        "digest": signed["digest"],
                        "detail": signed.get("pushError"),
                    }
                )
            else:
                answers.append(
                    {"node": node, "ok": False, "detail": f"HTTP {response.status_code}: {response.text[:300]}"}
                )
    return {"observed_at": observed_at, "nodes": answers}


def intents(session: Session, principal: Principal, agreement: Agreement) -> list[RelayIntent]:
    require_read(agreement, principal)
    return list(
        session.scalars(select(RelayIntent).where(RelayIntent.agreement_pk == agreement.id).order_by(RelayIntent.id))
    )
