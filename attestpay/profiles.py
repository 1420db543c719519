"""Party profiles: the legal identity an invoice names for a wallet (name, address, tax and bank ids).

A profile is held off-chain, but only its wallet can change it: each version is an EIP-712
`PartyProfile` message the wallet signs, showing every field in the wallet, so nobody else can change
whom an invoice names or where it says to pay. Versions are kept; an invoice freezes the version in
force when it was issued. `scope` is zero for the wallet's default profile, or an agreement id for a
profile that applies to that agreement only (the same wallet trading as another entity)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address
from stdnum import iban as iban_check
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError

DOMAIN = {"name": "AttestPay Party Profile", "version": "1"}
ZERO_SCOPE = "0x" + "00" * 32
EU = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)  # EU member states (VAT rules: reverse charge between two of them)


class InvalidProfile(ValueError):
    """A field is missing or malformed; the message names it."""


@dataclass(frozen=True)
class PartyProfile:
    legal_name: str
    street: str
    city: str
    postcode: str
    country: str  # ISO 3166-1 alpha-2
    vat_id: str = ""
    registration_id: str = ""
    email: str = ""
    iban: str = ""

    def check(self) -> PartyProfile:
        """The profile with normalised ids, or InvalidProfile naming the field."""
        for name in ("legal_name", "street", "city", "postcode", "country"):
            if not getattr(self, name).strip():
                raise InvalidProfile(f"{name} is required")
        for f in fields(self):
            if len(getattr(self, f.name)) > 200:
                raise InvalidProfile(f"{f.name} is longer than 200 characters")
        country = self.country.strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise InvalidProfile("country must be an ISO 3166-1 alpha-2 code such as DE")
        try:
            vat = eu_vat.compact(self.vat_id) if self.vat_id else ""
        except ValidationError:  # no EU country prefix: a number from outside the EU, kept as written
            vat = self.vat_id.strip()
        if vat and country in EU and not eu_vat.is_valid(vat):
            raise InvalidProfile(f"vat_id {self.vat_id!r} is not a valid EU VAT number (with its country prefix)")
        account = iban_check.compact(self.iban) if self.iban else ""
        if account and not iban_check.is_valid(account):
            raise InvalidProfile(f"iban {self.iban!r} is not a valid IBAN")
        if self.email and ("@" not in self.email or " " in self.email.strip()):
            raise InvalidProfile(f"email {self.email!r} is not an e-mail address")
        return PartyProfile(
            self.legal_name.strip(), self.street.strip(), self.city.strip(), self.postcode.strip(), country, vat,
            self.registration_id.strip(), self.email.strip(), account,
        )  # fmt: skip


TYPE = [
    {"name": "wallet", "type": "address"},
    {"name": "scope", "type": "bytes32"},
    {"name": "version", "type": "uint32"},
    {"name": "legalName", "type": "string"},
    {"name": "street", "type": "string"},
    {"name": "city", "type": "string"},
    {"name": "postcode", "type": "string"},
    {"name": "country", "type": "string"},
    {"name": "vatId", "type": "string"},
    {"name": "registrationId", "type": "string"},
    {"name": "email", "type": "string"},
    {"name": "iban", "type": "string"},
    {"name": "signedAt", "type": "uint64"},
]


def typed_data(profile: PartyProfile, wallet: str, scope: str, version: int, signed_at: int, chain_id: int) -> dict:
    """The message a wallet signs with eth_signTypedData_v4 (integers as decimal strings, as wallets want)."""
    camel = {"legal_name": "legalName", "vat_id": "vatId", "registration_id": "registrationId"}
    message = {camel.get(k, k): v for k, v in asdict(profile).items()}
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "PartyProfile": TYPE,
        },
        "primaryType": "PartyProfile",
        "domain": {**DOMAIN, "chainId": str(chain_id)},
        "message": {
            "wallet": to_checksum_address(wallet),
            "scope": scope,
            "version": str(version),
            **message,
            "signedAt": str(signed_at),
        },
    }


def signer(message: dict, signature: bytes) -> str:
    """The address whose key made `signature` over the typed data `message` (ECDSA)."""
    return Account.recover_message(encode_typed_data(full_message=message), signature=signature)
