"""Webhooks: a wallet registers an HTTPS endpoint and is told of every state change of the
agreements it is a party to. Notifications are queued in the transaction that makes the change
(an outbox), so none is lost or sent for a change that was rolled back; the worker delivers them
(`backend.engine.deliveries`).

In production a webhook goes only to public addresses (no server-side request forgery into the
service's own network): checked at registration, and again at every send, where the host is
resolved afresh and the connection made to the very address checked (DNS that changes between the
check and the connection, rebinding, cannot redirect it)."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Agreement, ChainEvent, Webhook, WebhookDelivery
from backend.errors import InvalidInput, NotFound
from backend.services.access import require_role
from backend.services.auth import Principal

# IPv6 ranges that carry an IPv4 address (which may be private): NAT64 (well-known and local-use),
# 6to4, Teredo, IPv4-compatible, IPv4-mapped. Refused whole, whatever they embed.
EMBEDDING_IPV4 = tuple(
    ipaddress.ip_network(n)
    for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "::ffff:0:0/96")
)


@dataclass(frozen=True)
class Destination:
    """Where to connect for a webhook URL: `url` names the checked address itself; `host` goes in
    the Host header and `sni` in TLS (the certificate is checked against it)."""

    url: str
    host: str
    sni: str | None


def register(session: Session, principal: Principal, url: str, production: bool) -> tuple[Webhook, str]:
    require_role(principal, "wallet")
    if production:
        destination(url, production)
    hook = Webhook(owner=principal.address, url=url, secret=secrets.token_hex(32))
    session.add(hook)
    session.commit()
    return hook, hook.secret


def destination(url: str, production: bool) -> Destination:
    """Resolves the webhook's host now; in production the URL must be HTTPS and every address the
    host resolves to public (InvalidInput otherwise)."""
    parts = urlsplit(url)
    if production and parts.scheme != "https":
        raise InvalidInput("a webhook URL must use https", field="url")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = [info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError):
        raise InvalidInput(f"the webhook host {parts.hostname} does not resolve", field="url") from None
    if not addresses:
        raise InvalidInput(f"the webhook host {parts.hostname} does not resolve", field="url")
    if production and not all(is_public(a) for a in addresses):
        raise InvalidInput(f"the webhook host {parts.hostname} is not a public address", field="url")
    # IPv4 first: "localhost" and many hosts resolve to both, and a receiver may listen on one alone.
    address = min((ipaddress.ip_address(a.split("%")[0]) for a in addresses), key=lambda ip: ip.version)
    literal = f"[{address}]" if address.version == 6 else str(address)
    pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, ""))
    host = parts.netloc.rsplit("@", 1)[-1]
    return Destination(pinned, host, parts.hostname if parts.scheme == "https" else None)


def is_public(address: str) -> bool:
    """A globally routable unicast address that embeds no IPv4 one."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and any(ip in network for network in EMBEDDING_IPV4):
        return False
    return ip.is_global and not ip.is_multicast


def owned(session: Session, principal: Principal) -> list[Webhook]:
    require_role(principal, "wallet")
    return list(session.scalars(select(Webhook).where(Webhook.owner == principal.address).order_by(Webhook.id)))


def remove(session: Session, principal: Principal, hook_id: int) -> None:
    hook = session.get(Webhook, hook_id)
    if hook is None or hook.owner != principal.address:
        raise NotFound(f"you have no webhook {hook_id}")
    session.delete(hook)
    session.commit()


def notify(session: Session, agreement: Agreement, event: ChainEvent, kind: str) -> None:
    """Queues `kind` about `event` for the webhooks of the agreement's parties."""
    payload = {
        "type": kind,
        "event": event.name,
        "agreementId": agreement.agreement_id,
        "agreement": agreement.id,
        "status": agreement.status,
        "args": event.args,
        "txHash": event.tx_hash,
        "logIndex": event.log_index,
        "blockNumber": event.block_number,
        "blockHash": event.block_hash,
    }
    notify_parties(session, agreement, f"{kind}:{event.block_hash}:{event.tx_hash}:{event.log_index}", payload)


def notify_parties(session: Session, agreement: Agreement, key: str, payload: dict) -> None:
    """Queues `payload` for the webhooks of the agreement's client, provider and arbiter; `key`
    names the change (unique per webhook: the caller makes each change once)."""
    owners = {agreement.client, agreement.provider, agreement.arbiter}
    hooks = list(session.scalars(select(Webhook.id).where(Webhook.owner.in_(owners))))
    session.add_all(WebhookDelivery(webhook_id=hook, event_key=key, payload=payload) for hook in hooks)
