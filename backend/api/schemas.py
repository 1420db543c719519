"""Request and response bodies. Token amounts and metric values travel as decimal text (a JSON
number loses precision past 2^53 in most clients); integers are accepted on input too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    Field,
)

from attestpay.payout import MAX_MILESTONES
from backend.domain.schemas import (  # the services' bodies, re-exported for the routes
    Address as Address,
    AgreementIn as AgreementIn,
    AgreementOut as AgreementOut,
    AttestationIn as AttestationIn,
    AttestationMessage as AttestationMessage,
    Bps as Bps,
    ClosedBody as _In,
    ConsentOut as ConsentOut,
    DocumentIn as DocumentIn,
    Hex32 as Hex32,
    Int256 as Int256,
    MilestoneIn as MilestoneIn,
    MilestoneOut as MilestoneOut,
    PartySignature as PartySignature,
    Signature as Signature,
    SignatureIn as SignatureIn,
    Uint32 as Uint32,
    Uint64 as Uint64,
    Uint128 as Uint128,
    Uint256 as Uint256,
)


class ConsentIn(_In):
    signature: PartySignature = Field(description="the party's EIP-712 signature over the Agreement struct")


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
    index: int = Field(ge=0, lt=MAX_MILESTONES)


class SettleIn(_In):
    index: int = Field(ge=0, lt=MAX_MILESTONES)
    attestation: Hex32 = Field(description="digest of a stored attestation with enough signatures")


class ResolveDisputeIn(_In):
    index: int = Field(ge=0, lt=MAX_MILESTONES)
    holdback: bool = Field(default=False, description="the dispute is over the holdback of a settled milestone")
    provider_share_bps: Bps = Field(description="the provider's share of the disputed amount, in basis points")
    counterparty_signature: PartySignature | None = Field(
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
    amount_display: str = Field(description='the amount in token units with the symbol, e.g. "1,050 mUSD"')
    effect: Literal["add", "deduct"]


class InvoiceOut(BaseModel):
    number: str
    kind: Literal["settlement", "holdback", "dispute"]
    agreement_id: str
    agreement_title: str
    milestone_index: int = Field(description="0-based, as the contract counts")
    milestone_number: int = Field(description="1-based, as people count")
    milestone_title: str
    client: str
    provider: str
    token: str
    token_symbol: str
    token_decimals: int
    issued_at: int
    tx_hash: str
    lines: list[InvoiceLine]
    total: Uint256
    total_display: str
    refund_to_client: Uint256
    refund_to_client_display: str


class SignInIn(_In):
    message: str = Field(min_length=1, max_length=4000, description="the EIP-4361 message the wallet signed")
    signature: PartySignature


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
    url: AnyHttpUrl = Field(
        max_length=2_000, description="where notifications are POSTed (JSON, signed with the webhook's secret)"
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    created_at: int
    secret: str | None = Field(
        default=None, description="HMAC-SHA256 key of X-AttestPay-Signature; shown once, at registration"
    )


class AcceptPartialIn(_In):
    attestation: Hex32 = Field(description="digest of a stored attestation with enough signatures, below target")
    signature: PartySignature = Field(
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


ApiKeyName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class ApiKeyIn(_In):
    name: ApiKeyName
    role: Literal["oracle", "worker", "operator", "auditor"]


class ApiKeyRecordOut(BaseModel):
    name: str
    role: str
    created_at: int
    revoked: bool


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
        (400, "the body is not UTF-8, or not JSON we parse: too deep, NaN or Infinity, NUL or a lone surrogate"),
        (401, "not signed in, or the session or key is unknown or expired"),
        (403, "the caller may not do this on this agreement"),
        (404, "no such agreement, attestation, invoice or transaction"),
        (409, "the state does not allow this now (including a transaction the escrow would revert)"),
        (413, "the body is larger than the route's limit"),
        (422, "the request is malformed or its terms are invalid"),
        (429, "rate limited; see Retry-After"),
        (503, "the chain or the database did not answer; retry"),
    )
}


ProfileText = Annotated[str, Field(max_length=200)]


class ProfileFields(BaseModel):
    """A party's legal identity as invoices name it (attestpay.profiles.PartyProfile)."""

    legal_name: ProfileText = Field(min_length=1)
    street: ProfileText = Field(min_length=1)
    city: ProfileText = Field(min_length=1)
    postcode: ProfileText = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    vat_id: ProfileText = ""
    registration_id: ProfileText = ""
    email: ProfileText = ""
    iban: ProfileText = Field(default="", max_length=34)


class ProfileIn(BaseModel):
    fields: ProfileFields
    scope: Hex32 = Field(default="0x" + "00" * 32, description="zero: the default profile; else an agreement id")
    version: Uint32 = Field(description="1 for the first version, then the latest + 1")
    signed_at: Uint64 = Field(description="unix seconds, as in the signed PartyProfile message")
    signature: Signature = Field(description="the wallet's EIP-712 signature over the PartyProfile message")


class ProfilePrepareIn(BaseModel):
    fields: ProfileFields
    scope: Hex32 = "0x" + "00" * 32
    version: Uint32
    signed_at: Uint64


class ProfileOut(BaseModel):
    wallet: str
    scope: str
    version: int
    fields: ProfileFields
    signed_at: int
    signature: str


class PermitOut(BaseModel):
    """The client's EIP-2612 permit for the funding total, for eth_signTypedData_v4."""

    digest: str
    deadline: Uint64 = Field(description="unix seconds; send it back with the signature")
    typed_data: dict = Field(description="for eth_signTypedData_v4 (integers as decimal strings)")


class PermitIn(_In):
    deadline: Uint64 = Field(description="the deadline of the permit as prepared (GET .../funding-permit)")
    signature: Signature = Field(description="the client's 65-byte signature of the permit")
