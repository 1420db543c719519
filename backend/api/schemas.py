"""Request and response bodies. Token amounts and metric values travel as decimal text (a JSON
number loses precision past 2^53 in most clients); integers are accepted on input too."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from web3 import Web3

from oracle.spec import MetricSpec

_INTEGER = re.compile(r"^-?[0-9]{1,78}$")


def _integer(value: Any) -> Any:
    if isinstance(value, str):
        if not _INTEGER.match(value):
            raise ValueError("must be an integer in decimal digits")
        return int(value)
    return value


def _ranged(low: int, high: int) -> Any:
    """An integer in [low, high), as decimal text in JSON."""
    return Annotated[
        int,
        BeforeValidator(_integer),
        Field(ge=low, lt=high),
        PlainSerializer(str, return_type=str, when_used="json"),
        WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]{1,78}$"}),
    ]


Uint128 = _ranged(0, 2**128)
Uint256 = _ranged(0, 2**256)
Int256 = _ranged(-(2**255), 2**255)
Uint64 = Annotated[int, Field(ge=0, lt=2**63)]  # unix seconds; 2^63 keeps them in a BIGINT column
Uint32 = Annotated[int, Field(ge=0, lt=2**32)]
Bps = Annotated[int, Field(ge=0, le=10_000)]
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$"), AfterValidator(str.lower)]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$"), AfterValidator(str.lower)]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$"), AfterValidator(Web3.to_checksum_address)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentIn(_In):
    name: str = Field(min_length=1, max_length=200)
    hash: Hex32 = Field(description="keccak256 or sha256 of the document's bytes")
    uri: str | None = Field(default=None, max_length=500)


class MilestoneIn(_In):
    title: str = Field(min_length=1, max_length=200)
    spec: MetricSpec = Field(description="the oracle's metric spec; its canonical JSON hashes to the metricId")
    amount: Uint128
    bonus: Uint128 = 0
    floor: Int256
    target: Int256
    stretch: Int256
    deadline: Uint64
    holdback_period: Uint32 = 0
    floor_payout_bps: Bps = 0
    late_penalty_bps_per_day: Bps = 0
    max_late_penalty_bps: Bps = 0
    holdback_bps: Bps = 0
    requires_client_approval: bool = False
    measure_every_seconds: int | None = Field(
        default=None,
        ge=60,
        le=365 * 86_400,
        description="off-chain: have the oracles measure this often before the deadline",
    )


class AgreementIn(_In):
    title: str = Field(min_length=1, max_length=200)
    client: Address
    provider: Address
    arbiter: Address | None = None
    token: Address | None = Field(default=None, description="an ERC-20; none: ether")
    oracles: list[Address] = Field(min_length=1, max_length=16)
    threshold: int = Field(ge=1, le=16)
    cure_window: Uint32 = 7 * 86_400
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)
    milestones: list[MilestoneIn] = Field(min_length=1, max_length=112)


class MilestoneOut(BaseModel):
    index: int
    title: str
    spec: dict
    metric_id: str
    amount: Uint128
    bonus: Uint128
    floor: Int256
    target: Int256
    stretch: Int256
    deadline: int
    holdback_period: int
    floor_payout_bps: int
    late_penalty_bps_per_day: int
    max_late_penalty_bps: int
    holdback_bps: int
    higher_is_better: bool
    requires_client_approval: bool
    measure_every_seconds: int | None = None
    status: str
    client_approved: bool
    settled_value: Int256 | None
    settled_observed_at: int | None
    settled_at: int | None
    settled_attestation: str | None
    paid_now: Uint256 | None
    holdback: Uint256 | None
    refund: Uint256 | None
    holdback_status: str | None


class ConsentOut(BaseModel):
    party: str
    role: str
    terms_hash: str
    signature: str
    created_at: int


class AgreementOut(BaseModel):
    id: int
    status: str
    title: str
    agreement_id: str | None = Field(description="the EIP-712 hash of the terms; set when proposed")
    chain_id: int
    escrow: str
    client: str
    provider: str
    arbiter: str
    token: str
    oracles: list[str]
    threshold: int
    cure_window: int
    revision: int
    documents: list[dict]
    docs_hash: str
    salt: str
    milestones_root: str | None
    created_by: str
    created_at: int
    updated_at: int
    milestones: list[MilestoneOut]
    consents: list[ConsentOut]


class ConsentIn(_In):
    signature: Signature = Field(description="the party's EIP-712 signature over the Agreement struct")


class TypedDataOut(BaseModel):
    primary_type: str
    digest: str
    typed_data: dict = Field(description="for eth_signTypedData_v4")


class WalletTransaction(BaseModel):
    """Everything a wallet needs to sign and send; the backend never signs for a party."""

    description: str
    chainId: int
    to: str
    data: str
    value: Uint256
    gas: int | None = Field(
        description="estimated on the current chain state; none when a previous transaction must be mined first"
    )
    from_: str = Field(alias="from", serialization_alias="from")


class WalletTransactions(BaseModel):
    transactions: list[WalletTransaction]


class IndexIn(_In):
    index: int = Field(ge=0, lt=112)


class SettleIn(_In):
    index: int = Field(ge=0, lt=112)
    attestation: Hex32 = Field(description="digest of a stored attestation with enough signatures")


class ResolveDisputeIn(_In):
    index: int = Field(ge=0, lt=112)
    holdback: bool = Field(default=False, description="the dispute is over the holdback of a settled milestone")
    provider_share_bps: Bps = Field(description="the provider's share of the disputed amount, in basis points")
    counterparty_signature: Signature | None = Field(
        default=None, description="the other party's DisputeSplit signature; not needed when the arbiter resolves"
    )


class WithdrawIn(_In):
    token: Address | None = None
    to: Address | None = None


class RecordTransactionIn(_In):
    tx_hash: Hex32


class ChainEventOut(BaseModel):
    tx_hash: str
    log_index: int
    block_number: int
    block_time: int
    name: str
    args: dict


class AttestationMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreementId: Hex32
    milestoneIndex: int = Field(ge=0, lt=2**256)
    metricId: Hex32
    value: Int256
    observedAt: int = Field(ge=0, lt=2**64)
    evidenceHash: Hex32
    expiresAt: int = Field(ge=0, lt=2**64)


class SignatureIn(_In):
    signer: Address
    signature: Signature


class AttestationIn(BaseModel):
    """One node's push (`signer` + `signature`, as the oracle service sends) or several (`signatures`)."""

    model_config = ConfigDict(extra="ignore")

    attestation: AttestationMessage
    digest: Hex32 | None = None
    signer: Address | None = None
    signature: Signature | None = None
    signatures: list[SignatureIn] = Field(default_factory=list, max_length=16)


class AttestationOut(BaseModel):
    digest: str
    agreement_id: str
    milestone_index: int
    metric_id: str
    value: Int256
    observed_at: int
    evidence_hash: str
    expires_at: int
    received_at: int
    signers: list[str]
    threshold: int
    complete: bool = Field(description="at least the threshold of oracle signatures")
    meets_target: bool


class PayoutOut(BaseModel):
    earned_bps: int
    base: Uint256
    bonus_earned: Uint256
    days_late: int
    penalty_bps: int
    penalty: Uint256
    net: Uint256
    holdback: Uint256
    paid_now: Uint256
    refund: Uint256


class InvoiceLine(BaseModel):
    item: str
    amount: Uint256
    effect: Literal["add", "deduct"]


class InvoiceOut(BaseModel):
    number: str
    kind: Literal["settlement", "holdback", "dispute"]
    agreement_id: str
    agreement_title: str
    milestone_index: int
    milestone_title: str
    client: str
    provider: str
    token: str
    issued_at: int
    tx_hash: str
    lines: list[InvoiceLine]
    total: Uint256
    refund_to_client: Uint256


class SignInIn(_In):
    message: str = Field(min_length=1, max_length=4000, description="the EIP-4361 message the wallet signed")
    signature: Signature


class SessionOut(BaseModel):
    token: str
    address: str
    expires_at: int


class NonceOut(BaseModel):
    nonce: str
    expires_at: int
    domain: str
    uri: str
    chain_id: int


class WebhookIn(_In):
    url: AnyHttpUrl = Field(description="where notifications are POSTed (JSON, signed with the webhook's secret)")


class WebhookOut(BaseModel):
    id: int
    url: str
    created_at: int
    secret: str | None = Field(
        default=None, description="HMAC-SHA256 key of X-AttestPay-Signature; shown once, at registration"
    )


class AcceptPartialIn(_In):
    attestation: Hex32 = Field(description="digest of a stored attestation with enough signatures, below target")
    signature: Signature = Field(
        description="the provider's EIP-712 PartialAcceptance signature (typed data from GET .../accept-partial)"
    )


class IntentOut(BaseModel):
    """A transaction the relayer sends from the service's own key, exactly once."""

    id: int
    key: str
    kind: str
    milestone_index: int | None
    status: str = Field(description="queued signed sent mined confirmed failed superseded")
    nonce: int | None
    tx_hash: str | None
    mined_block: int | None
    error: dict[str, Any] | None
    created_at: int


class NodeAnswerOut(BaseModel):
    round: int
    node: str
    observed_at: int
    status: str = Field(description="pending asked signed refused timed_out failed")
    attempts: int
    value: Int256 | None
    digest: str | None
    evidence_hash: str | None
    signer: str | None
    detail: str | None = Field(description="why a node refused, or the last fault")
    seconds: float | None = Field(description="how long the node took to answer")
    updated_at: float = Field(description="when this answer last changed (unix seconds)")


class ReleaseRequestOut(BaseModel):
    id: int
    agreement_pk: int
    milestone_index: int
    trigger: str = Field(description="request deadline cadence")
    round: int = Field(description="1; 2 when the first answers were split and the nodes measured again")
    observed_at: int
    status: str = Field(description="measuring agreed disagree failed")
    agreed_digest: str | None
    created_at: int
    updated_at: int
    answers: list[NodeAnswerOut]


class ApiKeyIn(_In):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Literal["oracle", "worker", "operator", "auditor"]


class ApiKeyOut(BaseModel):
    name: str
    role: str
    key: str = Field(description="shown once; only its hash is kept")


class ErrorOut(BaseModel):
    """Every 4xx and 5xx body: what went wrong, in words (`detail`; request validation gives a
    list of problems with their location instead), the error's kind, and where it applies."""

    detail: str | list[dict[str, Any]]
    error: str | None = Field(
        default=None, description="the kind: InvalidInput, NotFound, Conflict, ContractRejected, ..."
    )
    field: str | None = Field(default=None, description="the request field to change")
    revert: dict[str, Any] | None = Field(default=None, description="the escrow's custom error: name and arguments")
    retry_after: int | None = Field(default=None, description="seconds until a rate-limited caller may retry")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "not signed in, or the session or key is unknown or expired"),
        (403, "the caller may not do this on this agreement"),
        (404, "no such agreement, attestation, invoice or transaction"),
        (409, "the state does not allow this now (including a transaction the escrow would revert)"),
        (422, "the request is malformed or its terms are invalid"),
        (429, "rate limited; see Retry-After"),
        (503, "the chain or the database did not answer; retry"),
    )
}
