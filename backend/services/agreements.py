"""Agreements from draft to consent: terms written and checked, frozen when proposed (the
agreement id is their EIP-712 hash), then signed by both parties. Later states follow the chain
(`backend.services.chain_sync`). Each function is one unit of work: it commits or changes nothing."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attestpay import typed_data
from attestpay.terms import ETH
from backend.chain import ChainGateway
from backend.db.models import Agreement, ChainEvent, Consent, MilestoneRecord
from backend.domain.schemas import AgreementIn
from backend.domain.terms import agreement_terms, check_agreement, docs_hash
from backend.errors import Conflict, NotFound
from backend.services import einvoices
from backend.services.access import readable_by, require_party
from backend.services.auth import Principal

EDITABLE = ("draft",)


def get(session: Session, pk: int) -> Agreement:
    agreement = session.get(Agreement, pk)
    if agreement is None:
        raise NotFound(f"no agreement {pk}")
    return agreement


def visible(session: Session, principal: Principal) -> list[Agreement]:
    return list(session.scalars(select(Agreement).where(readable_by(principal)).order_by(Agreement.id)))


def create(session: Session, chain: ChainGateway, principal: Principal, body: AgreementIn) -> Agreement:
    """A draft proposed by its client or provider (the caller must be one of them)."""
    agreement = Agreement(
        status="draft",
        chain_id=chain.chain_id,
        escrow=chain.escrow.address,
        created_by=principal.address,
        salt="0x" + secrets.token_bytes(32).hex(),
        revision=0,
    )
    _write_terms(agreement, body, chain.now())
    require_party(agreement, principal, "client", "provider")
    einvoices.check_agreed_vat(session, agreement, chain.now())
    session.add(agreement)
    session.commit()
    return agreement


def replace_terms(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, body: AgreementIn
) -> Agreement:
    require_party(agreement, principal, "client", "provider")
    if agreement.status not in EDITABLE:
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; only a draft can be edited")
    _write_terms(agreement, body, chain.now())
    require_party(agreement, principal, "client", "provider")
    einvoices.check_agreed_vat(session, agreement, chain.now())
    session.commit()
    return agreement


def _write_terms(agreement: Agreement, body: AgreementIn, now: int) -> None:
    agreement.title = body.title
    agreement.client, agreement.provider = body.client, body.provider
    agreement.arbiter, agreement.token = body.arbiter or ETH, body.token or ETH
    agreement.oracles = sorted(body.oracles, key=lambda o: int(o, 16))  # the escrow wants them ascending
    agreement.threshold, agreement.cure_window = body.threshold, body.cure_window
    agreement.documents = [d.model_dump() for d in body.documents]
    agreement.vat = body.vat.stored() if body.vat else None
    agreement.milestones = [
        MilestoneRecord(
            index=i,
            title=m.title,
            spec=m.spec.model_dump(mode="json"),
            metric_id="0x" + m.spec.metric_id.hex(),
            higher_is_better=m.spec.higher_is_better,
            **m.model_dump(exclude={"title", "spec"}),
        )
        for i, m in enumerate(body.milestones)
    ]
    check_agreement(agreement, now)
    milestones = [(m.title, bytes.fromhex(m.metric_id[2:])) for m in agreement.milestones]
    agreement.docs_hash = "0x" + docs_hash(body.title, agreement.documents, milestones, agreement.vat).hex()
    agreement.milestones_root = "0x" + agreement_terms(agreement).milestones_root.hex()


def propose(session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement) -> Agreement:
    """Freezes the terms: from now on the agreement id is their hash and both parties sign it."""
    require_party(agreement, principal, "client", "provider")
    if agreement.status == "proposed":
        return agreement
    if agreement.status != "draft":
        raise Conflict(f"agreement {agreement.id} is {agreement.status}, not a draft")
    check_agreement(agreement, chain.now())
    einvoices.check_agreed_vat(session, agreement, chain.now())
    agreement.agreement_id = "0x" + typed_data.terms_hash(agreement_terms(agreement)).hex()
    agreement.status = "proposed"
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("an agreement with exactly these terms exists") from None
    return agreement


def terms_typed_data(agreement: Agreement) -> dict:
    if agreement.agreement_id is None:
        raise Conflict(f"agreement {agreement.id} is a draft; propose it first")
    message = typed_data.terms_message(agreement_terms(agreement))
    json_message = {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in message.items()}
    return typed_data.typed_data("Agreement", json_message, agreement.chain_id, agreement.escrow)


def consent(
    session: Session, chain: ChainGateway, principal: Principal, agreement: Agreement, signature: str
) -> Agreement:
    """Keeps the caller's EIP-712 signature over the terms after checking it is the caller's
    under the party-signature rule (a key, a Safe, an EIP-7702-delegated account)."""
    role = require_party(agreement, principal, "client", "provider")
    if agreement.status not in ("proposed", "consented"):
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; only proposed terms can be signed")
    struct = typed_data.terms_hash(agreement_terms(agreement))
    digest = typed_data.digest(struct, agreement.chain_id, agreement.escrow)
    chain.require_party_signature(
        principal.address,
        digest,
        signature,
        f"the consent to the terms of agreement {agreement.agreement_id} on chain {agreement.chain_id}",
    )
    if any(c.party == principal.address for c in agreement.consents):
        return agreement
    agreement.consents.append(
        Consent(party=principal.address, role=role, terms_hash=agreement.agreement_id, signature=signature)
    )
    if {c.role for c in agreement.consents} == {"client", "provider"}:
        agreement.status = "consented"
    try:
        session.commit()
    except IntegrityError:  # the same party's consent from a concurrent request
        session.rollback()
        session.refresh(agreement)
    return agreement


def cancel(session: Session, principal: Principal, agreement: Agreement) -> Agreement:
    """Drops an agreement that is not on the chain yet (one that is is cancelled by transaction)."""
    require_party(agreement, principal, "client", "provider")
    if agreement.status == "cancelled":
        return agreement
    if agreement.status not in ("draft", "proposed", "consented"):
        raise Conflict(f"agreement {agreement.id} is {agreement.status} and cannot be cancelled")
    if agreement.agreement_id and on_chain(session, agreement):
        raise Conflict("the agreement exists on the chain: cancel it by transaction (POST .../transactions/cancel)")
    agreement.status = "cancelled"
    session.commit()
    return agreement


def on_chain(session: Session, agreement: Agreement) -> bool:
    return (
        agreement.agreement_id is not None
        and session.scalar(
            select(ChainEvent.id).where(
                ChainEvent.agreement_id == agreement.agreement_id, ChainEvent.name == "AgreementCreated"
            )
        )
        is not None
    )
