"""The bodies the services take and give: an agreement's terms in and its document out, and an
attestation as the oracle nodes push it. Token amounts and metric values travel as decimal text (a
JSON number loses precision past 2^53 in most clients); integers are accepted on input too. The API's
other bodies are in backend/api/schemas.py."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from web3 import Web3

from attestpay.payout import BPS, MAX_MILESTONES
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
        WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]{1,78}$", "maxLength": 79}),
    ]


Uint128 = _ranged(0, 2**128)
Uint256 = _ranged(0, 2**256)
Int256 = _ranged(-(2**255), 2**255)
Uint64 = Annotated[int, Field(ge=0, lt=2**63)]  # unix seconds; 2^63 keeps them in a BIGINT column
Uint32 = Annotated[int, Field(ge=0, lt=2**32)]
Bps = Annotated[int, Field(ge=0, le=BPS)]
Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", max_length=66), AfterValidator(str.lower)]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$", max_length=132), AfterValidator(str.lower)]
# A party's signature (attestpay.party_signatures): 65 bytes from a key, or what an ERC-1271 account
# accepts (a Safe: 65 bytes per owner), up to 4 KiB.
PartySignature = Annotated[
    str, Field(pattern=r"^0x(?:[0-9a-fA-F]{2}){65,4096}$", max_length=8194), AfterValidator(str.lower)
]


def _checksummed(value: str) -> str:
    """EIP-55: all lowercase (or all uppercase) hex carries no checksum and is accepted; mixed case
    must be the address's checksum, so that a mistyped address is refused, not silently fixed."""
    checksummed = Web3.to_checksum_address(value)
    digits = value[2:]
    if digits not in (digits.lower(), digits.upper()) and value != checksummed:
        raise ValueError(f"the EIP-55 checksum is wrong (did you mean {checksummed}?)")
    return checksummed


Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", max_length=42), AfterValidator(_checksummed)]


class ClosedBody(BaseModel):
    """A request body that refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid")


class DocumentIn(ClosedBody):
    name: str = Field(min_length=1, max_length=200)
    hash: Hex32 = Field(description="keccak256 or sha256 of the document's bytes")
    uri: str | None = Field(default=None, max_length=500)


class MilestoneIn(ClosedBody):
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


# A percentage as JSON's number or as a decimal string, each bounded (a rate has at most 4 digits).
RATE_SCHEMA = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
        {"type": "string", "pattern": r"^[0-9]{1,2}(\.[0-9]{1,2})?$", "maxLength": 5},
    ]
}


class VatIn(ClosedBody):
    """The VAT treatment both parties agree for the agreement's invoices (docs/finance.md)."""

    category: Literal["S", "AE", "O", "auto"] = Field(
        description="S standard rated, AE reverse charge (two EU states), O not subject to EU VAT; "
        "auto: derived from the parties' profiles"
    )
    rate: Annotated[Decimal, WithJsonSchema(RATE_SCHEMA)] | None = Field(
        default=None,
        gt=0,
        lt=100,
        max_digits=4,
        decimal_places=2,
        description="S only: percent; default the seller's standard rate",
    )

    @model_validator(mode="after")
    def _rate_only_when_standard(self) -> VatIn:
        if self.rate is not None and self.category != "S":
            raise ValueError(f"a rate goes with category S (standard rated), not {self.category}")
        return self

    def stored(self) -> dict | None:
        """As the terms hash it; none for auto, so that terms without a choice hash as before."""
        if self.category == "auto":
            return None
        return {"category": self.category} | ({"rate": str(self.rate.normalize())} if self.rate is not None else {})


class AgreementIn(ClosedBody):
    title: str = Field(min_length=1, max_length=200)
    client: Address
    provider: Address
    arbiter: Address | None = None
    token: Address | None = Field(default=None, description="an ERC-20; none: ether")
    oracles: list[Address] = Field(min_length=1, max_length=16)
    threshold: int = Field(ge=1, le=16)
    cure_window: Uint32 = 7 * 86_400
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)
    milestones: list[MilestoneIn] = Field(min_length=1, max_length=MAX_MILESTONES)
    vat: VatIn | None = Field(default=None, description="the agreed VAT treatment; none: auto (from the profiles)")


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
    vat: dict | None = Field(default=None, description="the agreed VAT treatment; none: auto (from the profiles)")
    docs_hash: str
    salt: str
    milestones_root: str | None
    created_by: str
    created_at: int
    updated_at: int
    milestones: list[MilestoneOut]
    consents: list[ConsentOut]


class AttestationMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreementId: Hex32
    milestoneIndex: int = Field(ge=0, lt=2**256)
    metricId: Hex32
    value: Int256
    observedAt: int = Field(ge=0, lt=2**64)
    evidenceHash: Hex32
    expiresAt: int = Field(ge=0, lt=2**64)


class SignatureIn(ClosedBody):
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
