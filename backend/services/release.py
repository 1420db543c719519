"""What a provider asks of the relayer: "settle this partial result, I accept it" (the provider's
EIP-712 PartialAcceptance signature travels with the settlement). "Measure now" is a release
request (`backend.services.release_requests`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from attestpay import payout, typed_data
from backend.chain import ChainGateway
from backend.db.models import Agreement, AttestationRecord, RelayIntent
from backend.errors import Conflict
from backend.services.access import require_party, require_read
from backend.services.auth import Principal
from backend.services.intents import enqueue, settle_key
from backend.services.release_requests import open_milestone
from backend.services.wallet_tx import require_threshold, settle_call, stored_attestation


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
    milestone = open_milestone(agreement, index)
    record = stored_attestation(session, agreement, index, digest)
    if payout.meets_target(milestone, record.value):
        raise Conflict("the value meets the target: it settles by itself, there is no partial result to accept")
    require_threshold(agreement, record)
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


def intents(session: Session, principal: Principal, agreement: Agreement) -> list[RelayIntent]:
    require_read(agreement, principal)
    return list(
        session.scalars(select(RelayIntent).where(RelayIntent.agreement_pk == agreement.id).order_by(RelayIntent.id))
    )
