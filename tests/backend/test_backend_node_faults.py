"""The API in front of a chain node that fails: transport faults on reads are retried and the
request succeeds; a node that keeps failing, or answers with an error of its own, is a 503 with
Retry-After that writes nothing, never a 409 saying the escrow would refuse, never a 500."""

from __future__ import annotations

import pytest
from backend_support import Api
from factories import agreement_body

from attestpay.devstack import FaultyRpc
from backend.chain import connect
from backend.settings import Settings


@pytest.fixture
def proxied(anvil, database_url, tmp_path):
    """An API whose chain calls go through a proxy in front of anvil (healthy until a test says)."""
    proxy = FaultyRpc(anvil.url, late_seconds=1.5)
    proxy.FAULTS = ()
    gateway = connect(
        Settings(
            rpc_url=proxy.url, deployment_file=anvil.deployment(tmp_path / "deployment.json"), rpc_timeout_seconds=1
        )
    )
    yield Api(anvil, database_url, gateway), proxy
    proxy.close()


def drafts(api: Api, headers: dict) -> list:
    return api.client.get("/v1/agreements", headers=headers).json()


def test_dropped_connections_and_late_answers_are_retried(proxied):
    api, proxy = proxied
    client = api.sign_in(api.chain.client)
    proxy.FAULTS = (("drop_before", 0.1), ("drop_after", 0.1), ("late", 0.05))
    for _ in range(12):  # each draft reads the chain's time
        created = api.client.post("/v1/agreements", json=agreement_body(api.chain), headers=client)
        assert created.status_code == 201, created.text
    assert len(drafts(api, client)) == 12
    assert sum(n for fault, n in proxy.counts.items() if fault != "ok") >= 3, proxy.counts


@pytest.mark.parametrize("fault", ["rpc_error", "http_502", "drop_before"])
def test_a_failing_node_is_a_503_with_retry_after_and_nothing_written(proxied, fault):
    api, proxy = proxied
    agreement, client, _ = api.consented(agreement_body(api.chain))
    proxy.FAULTS = ((fault, 1.0),)
    refused = api.client.post("/v1/agreements", json=agreement_body(api.chain), headers=client)
    assert (refused.status_code, refused.json()["error"], refused.headers["Retry-After"]) == (
        503,
        "ChainUnavailable",
        "1",
    ), refused.text
    # estimating the funding transaction's gas: a node's failure, not the escrow refusing it
    funding = api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client)
    assert (funding.status_code, funding.json()["error"]) == (503, "ChainUnavailable"), funding.text
    assert [a["id"] for a in drafts(api, client)] == [agreement["id"]]
    proxy.FAULTS = ()
    assert api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client).status_code == 200
