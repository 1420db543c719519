"""Webhook delivery: each queued notification is POSTed as JSON with an HMAC-SHA256 signature
over "<timestamp>.<body>" in `X-AttestPay-Signature: t=<timestamp>,v1=<hex>`, so the receiver can
check it came from us and is fresh. A non-2xx answer or a fault is retried with exponential
backoff up to `webhook_max_attempts`; the delivery id (`X-AttestPay-Delivery`) lets a receiver
drop repeats. Each send resolves and checks the host again and connects to the address checked
(`backend.services.webhooks.destination`); redirects are not followed."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import httpx
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from backend.db.models import Webhook, WebhookDelivery
from backend.errors import InvalidInput
from backend.services.webhooks import destination
from backend.settings import Settings

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(5.0)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Deliveries:
    def __init__(self, sessions: sessionmaker, settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self.http = httpx.Client(timeout=TIMEOUT, follow_redirects=False)

    def step(self, limit: int = 50) -> int:
        """Sends every due notification once; returns how many were delivered."""
        delivered = 0
        with self.sessions() as session, session.begin():
            due = session.execute(
                select(WebhookDelivery, Webhook)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= time.time())
                .order_by(WebhookDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            ).all()
            for delivery, hook in due:
                delivered += self._send(delivery, hook)
        return delivered

    def _send(self, delivery: WebhookDelivery, hook: Webhook) -> bool:
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-AttestPay-Delivery": str(delivery.id),
            "X-AttestPay-Signature": signature(hook.secret, timestamp, body),
        }
        delivery.attempts += 1
        try:
            target = destination(hook.url, self.settings.environment == "production")
            response = self.http.post(
                target.url,
                content=body,
                headers=headers | {"Host": target.host},
                extensions={"sni_hostname": target.sni} if target.sni else None,
            )
            if response.is_success:
                delivery.status = "delivered"
                return True
            delivery.last_error = f"HTTP {response.status_code}"
        except InvalidInput as exc:
            delivery.last_error = f"refused: {exc}"[:500]
        except httpx.HTTPError as exc:
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if delivery.attempts >= self.settings.webhook_max_attempts:
            delivery.status = "failed"
            log.warning("webhook %s gave up on delivery %s: %s", hook.url, delivery.id, delivery.last_error)
        else:
            delivery.next_attempt_at = time.time() + min(2**delivery.attempts, 3600)
        return False
