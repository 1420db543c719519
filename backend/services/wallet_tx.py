"""Ready-to-sign transactions for a party's own wallet: create, fund (ERC-20 approve + fund),
approve a milestone, settle or accept a partial result, dispute, reclaim, release a holdback,
withdraw, cancel. Each is estimated against the chain now, so a call the escrow would refuse is
answered with the escrow's custom error instead of a transaction that fails in the wallet."""

from __future__ import annotations

from eth_utils import to_bytes
from sqlalchemy.orm import Session, object_session

from attestpay import payout, settlement, typed_data
from attestpay.terms import ETH, Attestation
from backend.chain import ChainGateway
from backend.db.models import Agreement, AttestationRecord
from backend.domain.terms import agreement_terms, milestone_terms
from backend.errors import Conflict, InvalidInput, NotFound
from backend.services.access import require_party, require_role
from backend.services.agreements import on_chain
from backend.services.auth import Principal
from backend.services.chain_sync import revoked_signers


def _ready(agreement: Agreement) -> None:
    if agreement.status in ("draft", "proposed", "cancelled"):
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; both parties must consent first")


def _milestone(agreement: Agreement, index: int):
    if index >= len(agreement.milestones):
        raise InvalidInput(
            f"agreement {agreement.id} has {len(agreement.milestones)} milestones; there is no {index}", field="index"
        )
    return agreement.milestones[index]


def _counterparty_consent(agreement: Agreement, role: str) -> bytes:
    other = "provider" if role == "client" else "client"
    for c in agreement.consents:
        if c.role == other:
            return to_bytes(hexstr=c.signature)
    raise Conflict(f"the {other} has not signed the terms yet")


def create(session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement) -> list[dict]:
    role = require_party(agreement, principal, "client", "provider")
    _ready(agreement)
    terms, milestones = agreement_terms(agreement), [milestone_terms(m) for m in agreement.milestones]
    call = chain.escrow.functions.create(
        terms.as_abi(), [m.as_abi() for m in milestones], _counterparty_consent(agreement, role)
    )
    return [
        chain.transaction(principal.address, call) | {"description": "register the consented agreement on the escrow"}
    ]


def fund(session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement) -> list[dict]:
    """The client's funding: for an ERC-20 an approval first (if the allowance is short); the
    agreement is registered in the same transaction when it is not on the chain yet."""
    require_party(agreement, principal, "client")
    _ready(agreement)
    if agreement.status != "consented":
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; only a consented agreement is funded")
    terms, milestones = agreement_terms(agreement), [milestone_terms(m) for m in agreement.milestones]
    total = sum(m.amount + m.bonus for m in milestones)
    abi_terms, abi_milestones = terms.as_abi(), [m.as_abi() for m in milestones]
    if on_chain(session, agreement):
        call, what = (
            chain.escrow.functions.fund(to_bytes(hexstr=agreement.agreement_id), abi_terms, abi_milestones),
            "fund",
        )
    else:
        consent = _counterparty_consent(agreement, "client")
        call, what = chain.escrow.functions.createAndFund(abi_terms, abi_milestones, consent), "register and fund"
    if agreement.token == ETH:
        return [
            chain.transaction(principal.address, call, value=total)
            | {"description": f"{what} the escrow with {total} wei"}
        ]
    txs = []
    if chain.allowance(agreement.token, principal.address) < total:
        approve = chain.transaction(principal.address, chain.approve_call(agreement.token, total))
        txs.append(approve | {"description": f"allow the escrow to take {total} token units"})
    funding = chain.transaction(principal.address, call, estimate=not txs)
    txs.append(funding | {"description": f"{what} the escrow with {total} token units"})
    return txs


def approve(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, index: int
) -> list[dict]:
    require_party(agreement, principal, "client")
    _ready(agreement)
    _milestone(agreement, index)
    call = chain.escrow.functions.approveMilestone(
        to_bytes(hexstr=agreement.agreement_id), agreement_terms(agreement).as_abi(), index
    )
    return [chain.transaction(principal.address, call) | {"description": f"approve milestone {index}"}]


def settle(
    session: Session,
    chain: ChainGateway,
    principal: Principal,
    agreement: Agreement,
    index: int,
    digest: str,
    partial: bool,
) -> list[dict]:
    """Settle on a stored attestation with enough signatures. `partial`: the provider accepts a
    result below target (only the provider may); otherwise the result must meet the target."""
    require_party(agreement, principal, *(("provider",) if partial else ("client", "provider", "arbiter")))
    _ready(agreement)
    m = _milestone(agreement, index)
    record = stored_attestation(session, agreement, index, digest)
    require_threshold(agreement, record)
    meets = payout.meets_target(m, record.value)
    if partial and meets:
        raise Conflict("the value meets the target: settle it, there is no partial result to accept")
    if not partial and not meets:
        raise Conflict(
            f"the value {record.value} is below the target {m.target}: only the provider can accept it (accept-partial)"
        )
    call = settle_call(chain, agreement, record)
    what = "accept the partial result of" if partial else "settle"
    return [
        chain.transaction(principal.address, call)
        | {"description": f"{what} milestone {index} at value {record.value}"}
    ]


def stored_attestation(session: Session, agreement: Agreement, index: int, digest: str) -> AttestationRecord:
    """The stored attestation `digest` of the agreement's milestone `index`; NotFound for any other."""
    record = session.get(AttestationRecord, digest)
    if record is None or record.agreement_pk != agreement.id or record.milestone_index != index:
        raise NotFound(f"no attestation {digest} for milestone {index} of agreement {agreement.id}")
    return record


def require_threshold(agreement: Agreement, record: AttestationRecord) -> None:
    """Conflict unless the attestation has the agreement's threshold of oracle signatures."""
    if len(record.signatures) < agreement.threshold:
        raise Conflict(f"attestation {record.digest} has {len(record.signatures)} of {agreement.threshold} signatures")


def settle_call(chain: ChainGateway, agreement: Agreement, record: AttestationRecord, provider_acceptance: bytes = b""):
    """The escrow call settling the record's milestone on it (threshold signatures, ascending, none
    revoked by its signer); with the provider's `PartialAcceptance` signature, as `settleWithConsents`
    for a relayer."""
    index = record.milestone_index
    withdrawn = revoked_signers(object_session(record), record.digest)
    signed = sorted(
        ((s.signer, to_bytes(hexstr=s.signature)) for s in record.signatures if s.signer not in withdrawn),
        key=lambda p: int(p[0], 16),
    )
    att = Attestation(
        to_bytes(hexstr=agreement.agreement_id),
        index,
        to_bytes(hexstr=record.metric_id),
        record.value,
        record.observed_at,
        to_bytes(hexstr=record.evidence_hash),
        record.expires_at,
    )
    packed = settlement.pack(
        agreement_terms(agreement),
        milestone_terms(agreement.milestones[index]),
        typed_data.milestone_proof([milestone_terms(x) for x in agreement.milestones], index),
        att,
        typed_data.pack_signatures(signed[: agreement.threshold]),
    )
    if provider_acceptance:
        return chain.escrow.functions.settleWithConsents(packed, b"", provider_acceptance)
    return chain.escrow.functions.settleMilestonePacked(packed)


def release_holdback_call(chain: ChainGateway, agreement: Agreement, index: int):
    return chain.escrow.functions.releaseHoldback(
        to_bytes(hexstr=agreement.agreement_id), agreement_terms(agreement).as_abi(), index
    )


def dispute(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, index: int
) -> list[dict]:
    require_party(agreement, principal, "client", "provider")
    _ready(agreement)
    _milestone(agreement, index)
    call = chain.escrow.functions.openDispute(
        to_bytes(hexstr=agreement.agreement_id), agreement_terms(agreement).as_abi(), index
    )
    return [chain.transaction(principal.address, call) | {"description": f"open a dispute on milestone {index}"}]


def split_message(agreement: Agreement, index: int, holdback: bool, provider_share_bps: int) -> dict:
    return {
        "agreementId": agreement.agreement_id,
        "milestoneIndex": index,
        "holdback": holdback,
        "providerShareBps": provider_share_bps,
    }


def _split_digest(agreement: Agreement, message: dict) -> bytes:
    struct = typed_data.struct_hash("DisputeSplit", message | {"agreementId": to_bytes(hexstr=agreement.agreement_id)})
    return typed_data.digest(struct, agreement.chain_id, agreement.escrow)


def split_typed_data(
    principal: Principal, agreement: Agreement, index: int, holdback: bool, provider_share_bps: int
) -> tuple[str, dict]:
    """The EIP-712 DisputeSplit a party signs so that the other party may resolve with it."""
    require_party(agreement, principal, "client", "provider", "arbiter")
    _ready(agreement)
    _milestone(agreement, index)
    message = split_message(agreement, index, holdback, provider_share_bps)
    digest = _split_digest(agreement, message)
    return "0x" + digest.hex(), typed_data.typed_data("DisputeSplit", message, agreement.chain_id, agreement.escrow)


def resolve_dispute(
    session: Session,
    chain: ChainGateway,
    principal: Principal,
    agreement: Agreement,
    index: int,
    holdback: bool,
    provider_share_bps: int,
    counterparty_signature: str | None,
) -> list[dict]:
    """Splits a disputed milestone (or holdback): the arbiter alone, or a party with the other
    party's DisputeSplit signature for exactly this split."""
    role = require_party(agreement, principal, "client", "provider", "arbiter")
    _ready(agreement)
    m = _milestone(agreement, index)
    if role != "arbiter" and not counterparty_signature:
        other = "provider" if role == "client" else "client"
        raise Conflict(f"without the arbiter, the {other}'s DisputeSplit signature is needed (GET .../dispute-split)")
    if role != "arbiter":
        other = agreement.provider if role == "client" else agreement.client
        digest = _split_digest(agreement, split_message(agreement, index, holdback, provider_share_bps))
        chain.require_party_signature(other, digest, counterparty_signature, "the dispute split")
    signature = to_bytes(hexstr=counterparty_signature) if counterparty_signature else b""
    agreement_id, terms = to_bytes(hexstr=agreement.agreement_id), agreement_terms(agreement).as_abi()
    if holdback:
        call = chain.escrow.functions.resolveHoldbackDispute(agreement_id, terms, index, provider_share_bps, signature)
    else:
        proof = typed_data.milestone_proof([milestone_terms(x) for x in agreement.milestones], index)
        call = chain.escrow.functions.resolveDispute(
            agreement_id, terms, index, milestone_terms(m).as_abi(), proof, provider_share_bps, signature
        )
    what = "holdback of milestone" if holdback else "milestone"
    return [
        chain.transaction(principal.address, call)
        | {"description": f"split the disputed {what} {index}: {provider_share_bps / 100:.2f}% to the provider"}
    ]


def reclaim(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, index: int
) -> list[dict]:
    require_party(agreement, principal, "client")
    _ready(agreement)
    m = _milestone(agreement, index)
    milestones = [milestone_terms(x) for x in agreement.milestones]
    call = chain.escrow.functions.reclaim(
        to_bytes(hexstr=agreement.agreement_id),
        agreement_terms(agreement).as_abi(),
        index,
        milestone_terms(m).as_abi(),
        typed_data.milestone_proof(milestones, index),
    )
    return [chain.transaction(principal.address, call) | {"description": f"reclaim milestone {index}"}]


def release_holdback(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, index: int
) -> list[dict]:
    require_party(agreement, principal, "client", "provider", "arbiter")
    _ready(agreement)
    _milestone(agreement, index)
    call = release_holdback_call(chain, agreement, index)
    return [chain.transaction(principal.address, call) | {"description": f"release the holdback of milestone {index}"}]


def cancel(session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement) -> list[dict]:
    require_party(agreement, principal, "client", "provider")
    if agreement.agreement_id is None:
        raise Conflict(f"agreement {agreement.id} is a draft and is not on the chain")
    call = chain.escrow.functions.cancel(to_bytes(hexstr=agreement.agreement_id), agreement_terms(agreement).as_abi())
    return [chain.transaction(principal.address, call) | {"description": "cancel the unfunded agreement"}]


def withdraw(chain: ChainGateway, principal: Principal, token: str | None, to: str | None) -> list[dict]:
    require_role(principal, "wallet")  # the escrow credits addresses; a service key has none
    call = chain.escrow.functions.withdraw(token or ETH, to or principal.address)
    return [chain.transaction(principal.address, call) | {"description": "withdraw your credit from the escrow"}]
