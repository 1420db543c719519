"""Funding from one signature: the client signs an EIP-2612 permit for the funding total
(`attestpay.permits`), then either sends one transaction itself (`fundWithPermit`, or
`createAndFundFor` when the agreement is not on the chain yet), or hands the permit to the
backend, whose relayer registers and funds the agreement and pays the gas (`createAndFundFor` with
both parties' consent signatures, which the backend already keeps): nothing else to sign."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from attestpay import party_signatures, permits
from attestpay.terms import ETH
from backend.chain import ChainGateway
from backend.db.models import Agreement, RelayIntent
from backend.domain.terms import agreement_terms, milestone_terms
from backend.errors import Conflict, InvalidInput
from backend.services.access import require_party
from backend.services.agreements import on_chain
from backend.services.auth import Principal
from backend.services.intents import enqueue

PERMIT_SECONDS = 3600  # how long a permit the API prepares stays usable
NOBODY = "0x" + "00" * 20  # a sender that is neither party, as the relayer is


def _consent(agreement: Agreement, role: str) -> bytes:
    for c in agreement.consents:
        if c.role == role:
            return bytes.fromhex(c.signature[2:])
    raise Conflict(f"the {role} has not signed the terms yet")


def _fundable(agreement: Agreement) -> int:
    """The funding total of a consented ERC-20 agreement."""
    if agreement.status != "consented":
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; only a consented agreement is funded")
    if agreement.token == ETH:
        raise Conflict("a permit is for an ERC-20 agreement; an ETH agreement is funded with one transaction")
    return sum(m.amount + m.bonus for m in agreement.milestones)


def _permit(chain: ChainGateway, agreement: Agreement, deadline: int) -> permits.Permit:
    total = _fundable(agreement)
    nonce = chain.permit_nonce(agreement.token, agreement.client)
    return permits.Permit(agreement.client, chain.escrow.address, total, nonce, deadline)


def permit_typed_data(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement
) -> tuple[str, int, dict]:
    """The client's EIP-2612 permit to sign (digest, deadline, typed data), valid PERMIT_SECONDS."""
    require_party(agreement, principal, "client")
    permit = _permit(chain, agreement, chain.now() + PERMIT_SECONDS)
    domain = chain.permit_domain(agreement.token)
    deadline = permit.deadline
    return "0x" + permit.digest(domain).hex(), deadline, permit.typed_data(domain)


def _signed_permit(chain: ChainGateway, agreement: Agreement, deadline: int, signature: str) -> tuple:
    """The escrow's Permit tuple, once the signature is the client's key's (EIP-2612 tokens check
    ECDSA only, so a Safe funds by transaction instead)."""
    if deadline <= chain.now():
        raise InvalidInput("the permit's deadline has passed; ask for a new permit", field="deadline")
    raw = bytes.fromhex(signature[2:])
    digest = _permit(chain, agreement, deadline).digest(chain.permit_domain(agreement.token))
    if party_signatures.key_signer(digest, raw) != bytes.fromhex(agreement.client[2:]):
        raise InvalidInput(
            f"the permit must be signed with the key of the client {agreement.client} (an EIP-2612 token checks "
            "ECDSA only; a contract account such as a Safe funds by transaction: POST .../transactions/fund)",
            field="signature",
        )
    return permits.escrow_permit(deadline, raw)


def fund_with_permit(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, deadline: int, signature: str
) -> list[dict]:
    """One transaction for the client's wallet: the funding with its permit (no approval first)."""
    require_party(agreement, principal, "client")
    permit = _signed_permit(chain, agreement, deadline, signature)
    terms, milestones = agreement_terms(agreement).as_abi(), [milestone_terms(m).as_abi() for m in agreement.milestones]
    if on_chain(session, agreement):
        call = chain.escrow.functions.fundWithPermit(
            bytes.fromhex(agreement.agreement_id[2:]), terms, milestones, permit
        )
    else:
        provider = _consent(agreement, "provider")
        call = chain.escrow.functions.createAndFundFor(terms, milestones, b"", provider, permit)
    total = _fundable(agreement)
    return [
        chain.transaction(principal.address, call)
        | {"description": f"fund the escrow with {total} token units under your permit (one transaction)"}
    ]


def fund_gasless(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, deadline: int, signature: str
) -> RelayIntent:
    """Queues the relayer's `createAndFundFor`: both parties' consents and the client's permit."""
    require_party(agreement, principal, "client")
    permit = _signed_permit(chain, agreement, deadline, signature)
    if on_chain(session, agreement):
        raise Conflict(
            "the agreement is already on the chain: fund it from your wallet (POST .../transactions/fund-with-permit)"
        )
    call = chain.escrow.functions.createAndFundFor(
        agreement_terms(agreement).as_abi(),
        [milestone_terms(m).as_abi() for m in agreement.milestones],
        _consent(agreement, "client"),
        _consent(agreement, "provider"),
        permit,
    )
    chain.transaction(NOBODY, call)  # refused now (ContractRejected, the escrow's error) rather than by the relayer
    key = f"fund:{agreement.agreement_id}"
    if not enqueue(session, key, "fund", call, agreement.id):
        raise Conflict("the relayer is already funding this agreement")
    session.commit()
    return session.scalar(select(RelayIntent).where(RelayIntent.key == key))
