"""Webhooks as an attacker aims them: a host that resolves to a public address when registered and
to 127.0.0.1 when the worker sends (DNS rebinding, or a record simply changed) is refused at send
time in production and nothing connects; IPv6 forms embedding an IPv4 address are refused;
redirects are not followed; the connection goes to the address checked, under the URL's host name.
DNS is not ours, so the resolver (socket.getaddrinfo) is the one thing replaced."""

from __future__ import annotations

import socket
import threading

import pytest
from backend_support import Api
from engine_support import WebhookReceiver
from sqlalchemy import select

from attestpay.local_http import LocalServer, QuietHandler
from backend.db.models import Webhook, WebhookDelivery
from backend.engine.deliveries import Deliveries

HOST = "hooks.example.com"
PUBLIC = "93.184.215.14"


class Resolver:
    """Answers `answer` for HOST and asks the real resolver for everything else."""

    def __init__(self, monkeypatch, answer: str) -> None:
        self.answer, self.asked, real = answer, 0, socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != HOST:
                return real(host, port, *args, **kwargs)
            self.asked += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.answer, int(port)))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port, self.connections = self.sock.getsockname()[1], 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def production(chain, database_url) -> Api:
    return Api(chain, database_url, environment="production", rpc_url="http://127.0.0.1:1", deployment_file="/dev/null")


def queue_one(api: Api) -> None:
    """A notification in the outbox for every webhook, as a change to an agreement queues it."""
    with api.app.state.sessions() as session, session.begin():
        for hook in session.scalars(select(Webhook.id)):
            session.add(WebhookDelivery(webhook_id=hook, event_key=f"test:{hook}", payload={"type": "test"}))


def deliveries(api: Api) -> list[tuple[str, str | None]]:
    with api.app.state.sessions() as session:
        return [(d.status, d.last_error) for d in session.scalars(select(WebhookDelivery))]


def test_a_host_that_turns_private_after_registration_is_refused_at_send_and_nothing_connects(
    chain, database_url, monkeypatch
):
    listener = Listener()
    resolver = Resolver(monkeypatch, PUBLIC)
    api = production(chain, database_url)
    url = f"https://{HOST}:{listener.port}/hook"
    assert api.client.post("/v1/webhooks", json={"url": url}, headers=api.sign_in(chain.client)).status_code == 201
    resolver.answer = "127.0.0.1"
    queue_one(api)
    assert Deliveries(api.app.state.sessions, api.app.state.settings).step() == 0
    assert listener.connections == 0
    assert deliveries(api) == [("pending", f"refused: the webhook host {HOST} is not a public address")]


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
        "64:ff9b:1::a00:1",  # local-use NAT64
        "::a9fe:a9fe",  # IPv4-compatible
        "::127.0.0.1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "2002:a9fe:a9fe::1",  # 6to4
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_ipv6_forms_embedding_an_ipv4_address_are_refused(chain, database_url, address):
    api = production(chain, database_url)
    refused = api.client.post(
        "/v1/webhooks", json={"url": f"https://[{address}]/hook"}, headers=api.sign_in(chain.client)
    )
    assert refused.status_code == 422 and "not a public address" in refused.json()["detail"]


def test_the_connection_goes_to_the_address_checked_under_the_urls_host_name(api, monkeypatch):
    receiver = WebhookReceiver()
    resolver = Resolver(monkeypatch, "127.0.0.1")
    try:
        url = receiver.url.replace("127.0.0.1", HOST)
        created = api.client.post("/v1/webhooks", json={"url": url}, headers=api.sign_in(api.chain.client))
        assert created.status_code == 201
        queue_one(api)
        assert Deliveries(api.app.state.sessions, api.app.state.settings).step() == 1
        (headers, _), port = receiver.received[0], receiver.server.server_port
        assert headers["Host"] == f"{HOST}:{port}"
        assert resolver.asked == 1  # resolved once, for the check; the connection used that answer
    finally:
        receiver.close()


def test_a_redirect_is_not_followed(api):
    target = WebhookReceiver()

    class Redirect(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(307)
            self.send_header("Location", target.url)
            self.send_header("Content-Length", "0")
            self.end_headers()

    redirecting = LocalServer(Redirect, "/hook")
    try:
        hook = {"url": redirecting.url}
        assert api.client.post("/v1/webhooks", json=hook, headers=api.sign_in(api.chain.client)).status_code
        queue_one(api)
        assert Deliveries(api.app.state.sessions, api.app.state.settings).step() == 0
        assert target.received == [] and deliveries(api) == [("pending", "HTTP 307")]
    finally:
        redirecting.close()
        target.close()
