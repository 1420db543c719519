"""The backend's tables. Chain values keep the contract's units: token base units, scaled metric
integers, unix seconds; hashes and addresses are 0x-hex text (addresses checksummed)."""

from __future__ import annotations

import time

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from backend.db.types import BigInt

Hash = String(66)
Address = String(42)


def now() -> int:
    return int(time.time())


class Base(DeclarativeBase):
    # 64-bit integers (unix seconds past 2038); SQLite autoincrements only INTEGER primary keys.
    type_annotation_map = {int: BigInteger().with_variant(Integer(), "sqlite")}


class Agreement(Base):
    """Terms as the escrow sees them, plus what only people need (title, documents, specs).
    `agreement_id` is the EIP-712 hash of the terms, fixed when the agreement is proposed."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # draft proposed consented active completed cancelled
    title: Mapped[str] = mapped_column(String(200))
    chain_id: Mapped[int]
    escrow: Mapped[str] = mapped_column(Address)
    client: Mapped[str] = mapped_column(Address, index=True)
    provider: Mapped[str] = mapped_column(Address, index=True)
    arbiter: Mapped[str] = mapped_column(Address)
    token: Mapped[str] = mapped_column(Address)
    oracles: Mapped[list[str]] = mapped_column(JSON)
    threshold: Mapped[int]
    cure_window: Mapped[int]
    revision: Mapped[int] = mapped_column(default=0)
    documents: Mapped[list[dict]] = mapped_column(JSON)
    vat: Mapped[dict | None] = mapped_column(JSON)  # the agreed VAT treatment, hashed into docs_hash; none: auto
    docs_hash: Mapped[str] = mapped_column(Hash)
    salt: Mapped[str] = mapped_column(Hash)
    milestones_root: Mapped[str | None] = mapped_column(Hash)
    agreement_id: Mapped[str | None] = mapped_column(Hash, unique=True)
    created_by: Mapped[str] = mapped_column(Address)
    created_at: Mapped[int] = mapped_column(default=now)
    updated_at: Mapped[int] = mapped_column(default=now, onupdate=now)
    # Raised in SQL (version = version + 1) by every change to the agreement, its milestones or its
    # consents (`backend.services.sessions`): whoever holds a copy of version n knows whether it is current.
    version: Mapped[int] = mapped_column(default=0, server_default="0")

    milestones: Mapped[list[MilestoneRecord]] = relationship(
        back_populates="agreement", order_by="MilestoneRecord.index", cascade="all, delete-orphan", lazy="selectin"
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="agreement", order_by="Consent.id", cascade="all, delete-orphan", lazy="selectin"
    )


class AgreementDocument(Base):
    """An agreement as the API returns it (`AgreementOut` JSON), written in the transaction of each
    change (`backend.services.documents`), so that any replica serves a read with one query."""

    __tablename__ = "agreement_documents"

    agreement_pk: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int]  # the agreement's version it shows
    body: Mapped[bytes] = mapped_column(LargeBinary)


class MilestoneRecord(Base):
    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("agreement_pk", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_pk: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    index: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict] = mapped_column(JSON)
    metric_id: Mapped[str] = mapped_column(Hash)
    amount: Mapped[int] = mapped_column(BigInt)
    bonus: Mapped[int] = mapped_column(BigInt)
    floor: Mapped[int] = mapped_column(BigInt)
    target: Mapped[int] = mapped_column(BigInt)
    stretch: Mapped[int] = mapped_column(BigInt)
    deadline: Mapped[int]
    holdback_period: Mapped[int]
    floor_payout_bps: Mapped[int]
    late_penalty_bps_per_day: Mapped[int]
    max_late_penalty_bps: Mapped[int]
    holdback_bps: Mapped[int]
    higher_is_better: Mapped[bool]
    requires_client_approval: Mapped[bool]
    # Off-chain: measure this often before the deadline (None: only at the deadline and on request).
    measure_every_seconds: Mapped[int | None]
    # chain-derived state (from the escrow's events)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open settled reclaimed disputed resolved
    client_approved: Mapped[bool] = mapped_column(default=False)
    settled_value: Mapped[int | None] = mapped_column(BigInt)
    settled_observed_at: Mapped[int | None]
    settled_at: Mapped[int | None]
    settled_attestation: Mapped[str | None] = mapped_column(Hash)
    paid_now: Mapped[int | None] = mapped_column(BigInt)
    holdback: Mapped[int | None] = mapped_column(BigInt)
    refund: Mapped[int | None] = mapped_column(BigInt)
    holdback_status: Mapped[str | None] = mapped_column(String(16))  # held disputed released resolved

    agreement: Mapped[Agreement] = relationship(back_populates="milestones")


class Consent(Base):
    """A party's EIP-712 signature over the agreement's terms, as checked and kept."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("agreement_pk", "party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_pk: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    party: Mapped[str] = mapped_column(Address)
    role: Mapped[str] = mapped_column(String(16))
    terms_hash: Mapped[str] = mapped_column(Hash)
    signature: Mapped[str] = mapped_column(Text)  # any length: a Safe's is 65 bytes per owner
    created_at: Mapped[int] = mapped_column(default=now)

    agreement: Mapped[Agreement] = relationship(back_populates="consents")


class AttestationRecord(Base):
    """Every verified attestation the oracles pushed, keyed by its EIP-712 digest (pushes repeat)."""

    __tablename__ = "attestations"

    digest: Mapped[str] = mapped_column(Hash, primary_key=True)
    agreement_pk: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    milestone_index: Mapped[int]
    metric_id: Mapped[str] = mapped_column(Hash)
    value: Mapped[int] = mapped_column(BigInt)
    observed_at: Mapped[int] = mapped_column(BigInt)  # uint64: may exceed a signed 64-bit column
    evidence_hash: Mapped[str] = mapped_column(Hash)
    expires_at: Mapped[int] = mapped_column(BigInt)
    received_at: Mapped[int] = mapped_column(default=now)
    anchor_root: Mapped[str | None] = mapped_column(Hash)  # the registry batch that includes it
    anchor_proof: Mapped[list[str] | None] = mapped_column(JSON)
    revoked: Mapped[bool] = mapped_column(default=False, server_default="0")  # by the registry's AttestationRevoked

    signatures: Mapped[list[AttestationSignature]] = relationship(
        order_by="AttestationSignature.signer", cascade="all, delete-orphan"
    )


class AttestationSignature(Base):
    __tablename__ = "attestation_signatures"
    __table_args__ = (UniqueConstraint("digest", "signer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(ForeignKey("attestations.digest", ondelete="CASCADE"))
    signer: Mapped[str] = mapped_column(Address)
    signature: Mapped[str] = mapped_column(String(132))
    pushed_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[int] = mapped_column(default=now)


class ChainEvent(Base):
    """An escrow or registry event applied to the tables above; (tx_hash, log_index) makes applying
    idempotent, and a reorganisation deletes the rows of the blocks it replaced."""

    __tablename__ = "chain_events"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        Index("ix_chain_events_agreement", "agreement_id"),
        Index("ix_chain_events_block", "block_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tx_hash: Mapped[str] = mapped_column(Hash)
    log_index: Mapped[int]
    block_number: Mapped[int]
    block_hash: Mapped[str | None] = mapped_column(Hash)
    block_time: Mapped[int]
    agreement_id: Mapped[str | None] = mapped_column(Hash)
    name: Mapped[str] = mapped_column(String(40))
    args: Mapped[dict] = mapped_column(JSON)
    sender: Mapped[str] = mapped_column(Address)


class InvoiceSeries(Base):
    """One gapless invoice series per issuer (the provider): `last_number` is raised in the
    transaction that issues the invoice, under the row's lock, so a rolled-back issue leaves no gap
    and two replicas never take the same number. `prefix` is the issuer's address, as short as is
    unique among the series (8 hex digits, longer on a clash)."""

    __tablename__ = "invoice_series"

    issuer: Mapped[str] = mapped_column(Address, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(48), unique=True)
    last_number: Mapped[int]


class Invoice(Base):
    """One per settlement, holdback release and dispute split. `number` is the issuer's series number
    (`<prefix>-000001`: `sequence` in `issuer`'s series) for a payment that is an invoice or a credit
    note; a payment against an earlier invoice (a holdback paid out) is that invoice's number with -P.
    Rows issued before per-issuer series keep their AP-<id> number (no issuer, no sequence)."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index"),
        UniqueConstraint("issuer", "sequence", name="uq_invoices_issuer_sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(64), unique=True)
    issuer: Mapped[str | None] = mapped_column(Address)
    sequence: Mapped[int | None]
    agreement_pk: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    milestone_index: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # settlement holdback dispute
    tx_hash: Mapped[str] = mapped_column(Hash)
    log_index: Mapped[int]
    issued_at: Mapped[int]
    token: Mapped[str] = mapped_column(Address)
    lines: Mapped[list[dict]] = mapped_column(JSON)  # {"item", "amount" (decimal text), "sign"}
    total: Mapped[int] = mapped_column(BigInt)


class SignInNonce(Base):
    __tablename__ = "sign_in_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(index=True)
    used_at: Mapped[int | None]


class WalletSession(Base):
    __tablename__ = "wallet_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(Address)
    expires_at: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[int] = mapped_column(default=now)


class ApiKey(Base):
    """A service's key (only its SHA-256 is kept) with one role: oracle, worker, operator or auditor."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[int] = mapped_column(default=now)
    revoked: Mapped[bool] = mapped_column(default=False)


class RelayIntent(Base):
    """A transaction the service's own key must get mined exactly once (a settlement, a holdback
    release). The idempotency key is unique; the nonce, the signed bytes and their hash are stored
    before the first broadcast, so a restarted worker re-sends the same bytes or finds the receipt.
    A permanently failed intent frees its key (`<key>#failed-<id>`) so that a later trigger may retry."""

    __tablename__ = "relay_intents"
    __table_args__ = (Index("ix_relay_intents_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # settle release_holdback
    agreement_pk: Mapped[int | None] = mapped_column(ForeignKey("agreements.id", ondelete="SET NULL"))
    milestone_index: Mapped[int | None]
    to: Mapped[str] = mapped_column(Address)
    data: Mapped[str] = mapped_column(Text)
    value: Mapped[int] = mapped_column(BigInt, default=0)
    status: Mapped[str] = mapped_column(
        String(16), default="queued"
    )  # queued signed sent mined confirmed failed superseded
    sender: Mapped[str | None] = mapped_column(Address)
    nonce: Mapped[int | None]
    gas: Mapped[int | None]
    max_fee: Mapped[int | None] = mapped_column(BigInt)
    priority_fee: Mapped[int | None] = mapped_column(BigInt)
    raw_tx: Mapped[str | None] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(Hash)  # the newest signed version
    hashes: Mapped[list[str]] = mapped_column(JSON, default=list)  # every version broadcast (replacements)
    sent_at: Mapped[int | None]
    mined_hash: Mapped[str | None] = mapped_column(Hash)  # the version that was mined
    mined_block: Mapped[int | None]
    mined_block_hash: Mapped[str | None] = mapped_column(Hash)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(default=now)
    updated_at: Mapped[int] = mapped_column(default=now, onupdate=now)


class ReleaseRequest(Base):
    """ "Measure this milestone now": every oracle node is asked at one observation time (`round` 1;
    a split answer is measured once more, round 2). `key` makes a request idempotent across
    replicas: `request:`, `deadline:` or `cadence:` with the agreement id, index and time."""

    __tablename__ = "release_requests"
    __table_args__ = (Index("ix_release_requests_milestone", "agreement_pk", "milestone_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    agreement_pk: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    milestone_index: Mapped[int]
    trigger: Mapped[str] = mapped_column(String(16))  # request deadline cadence
    requested_by: Mapped[str] = mapped_column(String(64))
    nodes: Mapped[list[str]] = mapped_column(JSON)  # the node URLs asked
    round: Mapped[int] = mapped_column(default=1)
    observed_at: Mapped[int]  # the current round's common observation time
    status: Mapped[str] = mapped_column(String(16), default="measuring")  # measuring agreed disagree failed
    agreed_digest: Mapped[str | None] = mapped_column(Hash)
    created_at: Mapped[int] = mapped_column(default=now)
    updated_at: Mapped[int] = mapped_column(default=now, onupdate=now)

    answers: Mapped[list[NodeAnswer]] = relationship(
        order_by="NodeAnswer.id", cascade="all, delete-orphan", lazy="selectin"
    )


class NodeAnswer(Base):
    """One node's answer to one round of a release request. `pending` and `asked` rows are the
    work queue: a worker takes a due row (SKIP LOCKED), leases it and asks the node; a lease that
    ran out (the worker died) makes the row due again. Asking twice is harmless: a node signs the
    same attestation for the same observation time, and intake keys it by digest."""

    __tablename__ = "node_answers"
    __table_args__ = (
        UniqueConstraint("request_id", "round", "node"),
        Index("ix_node_answers_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("release_requests.id", ondelete="CASCADE"))
    round: Mapped[int]
    node: Mapped[str] = mapped_column(String(300))
    observed_at: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending asked signed refused timed_out failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[float] = mapped_column(default=0.0)
    lease_until: Mapped[float] = mapped_column(default=0.0)
    value: Mapped[int | None] = mapped_column(BigInt)
    digest: Mapped[str | None] = mapped_column(Hash)
    evidence_hash: Mapped[str | None] = mapped_column(Hash)
    signer: Mapped[str | None] = mapped_column(Address)
    detail: Mapped[str | None] = mapped_column(String(500))  # a refusal's reason, the last fault
    seconds: Mapped[float | None]  # how long the node took to answer
    updated_at: Mapped[float] = mapped_column(default=time.time, onupdate=time.time)


class RelayNonce(Base):
    """The next nonce of a relayer address, allocated under this row's lock in the transaction that
    stores the signed intent: workers never share a nonce, and a rolled-back signing frees it."""

    __tablename__ = "relay_nonces"

    sender: Mapped[str] = mapped_column(Address, primary_key=True)
    next_nonce: Mapped[int]


class IndexerCursor(Base):
    """The last block the indexer applied, with its hash: a different hash there means a reorganisation."""

    __tablename__ = "indexer_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    block_number: Mapped[int]
    block_hash: Mapped[str | None] = mapped_column(Hash)


class IndexedBlock(Base):
    """Hashes of recently indexed blocks, to find the common ancestor after a reorganisation."""

    __tablename__ = "indexed_blocks"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(Hash)


class Webhook(Base):
    """A wallet's endpoint for notifications about the agreements it is a party to; payloads are
    signed with HMAC-SHA256 under `secret` (shown once, at registration)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(Address, index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(default=now)


class WebhookDelivery(Base):
    """One notification to one webhook, retried with backoff until a 2xx or `max attempts`."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_key"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending delivered failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[float] = mapped_column(default=0.0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[int] = mapped_column(default=now)


class PartyProfileVersion(Base):
    """One signed version of a wallet's legal profile (attestpay.profiles); versions are never changed
    or deleted, so an invoice can name the version in force when it was issued."""

    __tablename__ = "party_profiles"
    __table_args__ = (UniqueConstraint("wallet", "scope", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet: Mapped[str] = mapped_column(Address, index=True)
    scope: Mapped[str] = mapped_column(Hash)  # zero: the default profile; else an agreement id
    version: Mapped[int]
    fields: Mapped[dict] = mapped_column(JSON)
    signed_at: Mapped[int]
    signature: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[int] = mapped_column(default=now)


class InvoiceDocument(Base):
    """An invoice's e-invoicing facts frozen when first rendered (parties' profile versions, the price at
    the payment's block, the VAT treatment), so the document never changes later."""

    __tablename__ = "invoice_documents"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    facts: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(default=now)
