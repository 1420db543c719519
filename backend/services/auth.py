"""Who is calling: a wallet signed in with Ethereum (EIP-4361) or a service with an API key.

SIWE: the server issues a single-use nonce; a sign-in succeeds once per nonce, for this domain and
URI, before the message expires; it returns a random session token of which only the hash is kept.
Every request looks its credential up in the database (one primary-key read), so a sign-out or a
revoked key stops working at once on every replica."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account.messages import defunct_hash_message
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.chain import ChainGateway
from backend.db.models import ApiKey, SignInNonce, WalletSession, now
from backend.errors import Conflict, NotFound, Unauthenticated
from backend.settings import Settings

ROLES = ("oracle", "worker", "operator", "auditor")


@dataclass(frozen=True)
class Principal:
    """A wallet (`address`, role "wallet") or a service key (`name`, one of ROLES)."""

    role: str
    address: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return self.address or f"key:{self.name}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_nonce(session: Session, settings: Settings) -> SignInNonce:
    nonce = SignInNonce(nonce=secrets.token_hex(16), expires_at=now() + settings.nonce_ttl_seconds)
    session.add(nonce)
    session.commit()
    return nonce


def sign_in(
    session: Session, settings: Settings, chain: ChainGateway, text: str, signature: str
) -> tuple[str, WalletSession]:
    """A session token for the message's address, or Unauthenticated saying what was wrong. The
    signature follows the party-signature rule, so a Safe or an EIP-7702 account signs in too."""
    from siwe import SiweMessage  # its grammar takes 0.6 s to import: a process pays it at its first sign-in

    try:
        message = SiweMessage.from_message(text)
    except Exception:  # siwe raises its parser's own errors
        raise Unauthenticated("not an EIP-4361 (Sign-In with Ethereum) message") from None
    if message.domain != settings.siwe_domain:
        raise Unauthenticated(f"the message is for {message.domain}, this service is {settings.siwe_domain}")
    if message.uri != settings.siwe_uri:
        raise Unauthenticated(f"the message's URI is {message.uri}, this service is {settings.siwe_uri}")
    if message.chain_id != chain.chain_id:
        raise Unauthenticated(f"the message is for chain {message.chain_id}, this service is on chain {chain.chain_id}")
    issued = int(message.issued_at._datetime.timestamp())
    if message.expiration_time is None and now() > issued + settings.max_message_age_seconds:
        raise Unauthenticated("the message is too old; sign a new one")
    moment = datetime.now(UTC)
    if message.expiration_time is not None and moment >= message.expiration_time._datetime:
        raise Unauthenticated("sign-in refused: ExpiredMessage (the message has expired); sign a new one")
    if message.not_before is not None and moment <= message.not_before._datetime:
        raise Unauthenticated("sign-in refused: the message is not valid yet (not-before)")
    chain.require_party_signature(
        message.address, defunct_hash_message(text=text), signature, "the sign-in message", sign_in=True
    )
    # Consume the nonce only now, in one conditional UPDATE: of two concurrent replays one wins.
    consumed = session.execute(
        update(SignInNonce)
        .where(SignInNonce.nonce == message.nonce, SignInNonce.used_at.is_(None), SignInNonce.expires_at >= now())
        .values(used_at=now())
    ).rowcount
    if consumed != 1:
        session.rollback()
        raise Unauthenticated("the nonce is unknown, expired or already used; ask for a new one")
    token = secrets.token_urlsafe(32)
    record = WalletSession(
        token_hash=_hash(token), address=message.address, expires_at=now() + settings.session_ttl_seconds
    )
    session.add(record)
    session.commit()
    return token, record


# Looked up on every request: built once, run on the session's connection (Core), because the
# ORM's identity map and statement compilation cost several times the indexed lookup itself.
_WALLET = select(WalletSession.address, WalletSession.expires_at).where(
    WalletSession.token_hash == bindparam("token_hash")
)
_SERVICE = select(ApiKey.role, ApiKey.name, ApiKey.revoked).where(ApiKey.key_hash == bindparam("key_hash"))


def wallet(session: Session, token: str) -> Principal:
    """The signed-in wallet."""
    record = session.connection().execute(_WALLET, {"token_hash": _hash(token)}).one_or_none()
    if record is None or record.expires_at < now():
        raise Unauthenticated("the session token is unknown or expired; sign in again")
    return Principal("wallet", address=record.address)


def sign_out(session: Session, token: str) -> None:
    """Ends the session of `token` (unknown or already ended: nothing to do)."""
    session.execute(delete(WalletSession).where(WalletSession.token_hash == _hash(token)))
    session.commit()


def service(session: Session, key: str) -> Principal:
    """The service an API key belongs to (keys do not expire; they are revoked)."""
    record = session.connection().execute(_SERVICE, {"key_hash": _hash(key)}).one_or_none()
    if record is None or record.revoked:
        raise Unauthenticated("unknown or revoked API key")
    return Principal(record.role, name=record.name)


def operator_from_settings(settings: Settings, key: str) -> Principal | None:
    configured = settings.operator_api_key
    if configured and hmac.compare_digest(key.encode(), configured.get_secret_value().encode()):
        return Principal("operator", name="settings")
    return None


def create_api_key(session: Session, name: str, role: str) -> str:
    """A new key for a service; the key itself is returned once and never stored."""
    key = "ap_" + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, role=role, key_hash=_hash(key)))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"an API key named {name!r} exists") from None
    return key


def api_keys(session: Session) -> list[ApiKey]:
    """Every key issued, revoked ones included (their hashes are not shown)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, name: str) -> ApiKey:
    """Revokes the key named `name`; the next request with it is refused, on every replica."""
    record = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if record is None:
        raise NotFound(f"no API key named {name!r}")
    record.revoked = True
    session.commit()
    return record


def purge_expired(session: Session) -> int:
    """Deletes nonces and sessions past their expiry (an expired nonce is refused whether kept or
    not); returns how many rows went."""
    at = now()
    removed = session.execute(delete(SignInNonce).where(SignInNonce.expires_at < at)).rowcount
    removed += session.execute(delete(WalletSession).where(WalletSession.expires_at < at)).rowcount
    session.commit()
    return removed
