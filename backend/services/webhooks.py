"""Webhooks: a wallet registers an HTTPS endpoint and is told of every state change of the
agreements it is a party to. Notifications are queued in the transaction that makes the change
(an outbox), so none is lost or sent for a change that was rolled back; the worker delivers them
(`backend.engine.deliveries`)."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import Agreement, ChainEvent, Webhook, WebhookDelivery
from backend.errors import InvalidInput, NotFound
from backend.services.access import require_role
from backend.services.auth import Principal


def register(session: Session, principal: Principal, url: str, production: bool) -> tuple[Webhook, str]:
    require_role(principal, "wallet")
    if production:
        _public_https(url)
    hook = Webhook(owner=principal.address, url=url, secret=secrets.token_hex(32))
    session.add(hook)
    session.commit()
    return hook, hook.secret


def _public_https(url: str) -> None:
    """In production a webhook is HTTPS to a public address: the worker must not be made to POST
    into the service's own network (server-side request forgery)."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise InvalidInput("a webhook URL must use https", field="url")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise InvalidInput(f"the webhook host {parts.hostname} does not resolve", field="url") from None
    if any(not ipaddress.ip_address(a).is_global for a in addresses):
        raise InvalidInput(f"the webhook host {parts.hostname} is not a public address", field="url")


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
