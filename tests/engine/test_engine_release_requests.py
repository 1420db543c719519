"""Release requests with three real oracle node processes (`attestpay-oracle serve`), each over
its own data: the API answers 202 at once, the worker asks all nodes concurrently, and the
request's progress (each node's value and digest, refusals, faults) is readable and pushed to
webhooks. Nodes that agree settle the milestone with no click; nodes that disagree are measured
once more and then flagged "oracles disagree" with each node's value and evidence hash; the
deadline measures by itself. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time

import pytest
from engine_support import WebhookReceiver, engine_settings, relayer_keystore, worker_for
from factories import DAY, ORACLE_NODE_KEY, agreement_body
from sqlalchemy import select, update

from attestpay.devchain import free_port
from attestpay.devstack import start_oracle_node, stop
from backend.db.models import MilestoneRecord, NodeAnswer, ReleaseRequest

pytestmark = pytest.mark.slow  # oracle nodes as processes


class Nodes:
    """The chain's three oracles as node processes; `accuracy(i, correct)` rewrites node i's data."""

    def __init__(self, chain, root) -> None:
        self.root, self.processes, self.urls = root, [], []
        for i, oracle in enumerate(chain.oracles):
            process, url = start_oracle_node(
                root / f"node{i}", oracle.key, chain.chain_id, chain.escrow.address, ORACLE_NODE_KEY
            )
            self.processes.append(process)
            self.urls.append(url)

    def accuracy(self, index: int, correct: int) -> None:
        data = self.root / f"node{index}" / "data"
        data.mkdir(parents=True, exist_ok=True)
        rows = [{"time": 1, "prediction": 1, "label": 1 if i < correct else 0} for i in range(100)]
        (data / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def close(self) -> None:
        stop(*self.processes)


@pytest.fixture(scope="module")
def nodes(session_chain, tmp_path_factory):
    running = Nodes(session_chain, tmp_path_factory.mktemp("oracle-nodes"))
    yield running
    running.close()


@pytest.fixture
def relayer(tmp_path, chain):
    path, address = relayer_keystore(tmp_path)
    chain.w3.eth.send_transaction({"from": chain.w3.eth.accounts[0], "to": address, "value": 10**19})
    return path


def _funded(api, milestones: int = 1, **milestone_changes):
    body = agreement_body(api.chain, milestones=milestones)
    for m in body["milestones"]:
        m.update(milestone_changes)
    agreement, client, provider = api.consented(body)
    fund = api.client.post(f"/v1/agreements/{agreement['id']}/transactions/fund", headers=client)
    api.send_all(api.chain.client, fund)
    return agreement, provider


def _worker(api, relayer, urls, **changes):
    """A worker, and the API, with `urls` as the oracle nodes."""
    api.app.state.settings = api.app.state.settings.model_copy(update={"oracle_nodes": urls})
    worker = worker_for(
        api,
        **engine_settings(relayer, oracle_nodes=urls, oracle_node_api_key=ORACLE_NODE_KEY, **changes),
    )
    worker.indexer.catch_up()
    return worker


def _run_until(worker, done, seconds: float = 60):
    """Worker turns until `done()`; the nodes answer in the fan-out's threads meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        worker.turn()
        if result := done():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not done within {seconds} s")


def _milestone_status(api, pk: int, index: int = 0) -> str:
    with api.app.state.sessions() as session:
        return session.scalar(
            select(MilestoneRecord.status).where(MilestoneRecord.agreement_pk == pk, MilestoneRecord.index == index)
        )


def _request(api, provider, request_id: int) -> dict:
    return api.client.get(f"/v1/release-requests/{request_id}", headers=provider).json()


def _all_answered(api, provider, request_id: int) -> dict | None:
    """The request once every node's answer is final and the request has its outcome (a later turn
    of the worker than the last answer's, on a loaded machine)."""
    request = _request(api, provider, request_id)
    answered = all(a["status"] not in ("pending", "asked") for a in request["answers"])
    return request if answered and request["status"] != "measuring" else None


def test_the_request_answers_at_once_the_nodes_that_agree_settle_and_the_odd_one_is_recorded(api, relayer, nodes):
    for i, correct in enumerate((93, 93, 90)):
        nodes.accuracy(i, correct)
    agreement, provider = _funded(api)
    worker = _worker(api, relayer, nodes.urls)
    url = f"/v1/agreements/{agreement['id']}/milestones/0/request-release"
    asked = api.client.post(url, headers=provider)
    assert asked.status_code == 202, asked.text
    request = asked.json()
    assert request["status"] == "measuring" and {a["status"] for a in request["answers"]} == {"pending"}
    assert api.client.post(url, headers=provider).json()["id"] == request["id"]  # a second click: the same request

    _run_until(worker, lambda: _milestone_status(api, agreement["id"]) == "settled")
    done = _run_until(worker, lambda: _all_answered(api, provider, request["id"]))
    assert done["status"] == "agreed" and done["round"] == 1
    by_node = {a["node"]: a for a in done["answers"]}
    values = [(by_node[u]["status"], by_node[u]["value"]) for u in nodes.urls]
    assert values == [("signed", "9300"), ("signed", "9300"), ("signed", "9000")]  # exact integers as text
    assert by_node[nodes.urls[0]]["digest"] == by_node[nodes.urls[1]]["digest"] == done["agreed_digest"]
    assert by_node[nodes.urls[2]]["digest"] != done["agreed_digest"]
    assert all(a["seconds"] is not None and a["signer"] for a in done["answers"])
    client = api.sign_in(api.chain.client)
    assert api.client.post(url, headers=client).status_code == 403  # only the provider asks
    listed = api.client.get(f"/v1/agreements/{agreement['id']}/release-requests", headers=client).json()
    assert [r["id"] for r in listed] == [request["id"]]


def test_a_running_worker_settles_as_the_work_commits_not_at_its_ten_minute_poll(api, relayer, nodes):
    """`Worker.run` as deployed, with a poll no test could wait for: the request, the nodes'
    signatures, the settlement intent and the new block each wake it (backend.engine.wakeup)."""
    for i in range(3):
        nodes.accuracy(i, 93)
    agreement, provider = _funded(api)
    worker = _worker(api, relayer, nodes.urls, poll_seconds=600)
    stop = threading.Event()
    running = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    running.start()
    try:
        asked = api.client.post(f"/v1/agreements/{agreement['id']}/milestones/0/request-release", headers=provider)
        assert asked.status_code == 202, asked.text
        deadline = time.monotonic() + 60
        while _milestone_status(api, agreement["id"]) != "settled":
            assert time.monotonic() < deadline, "not settled within 60 s: a wake-up was lost"
            time.sleep(0.05)
    finally:
        stop.set()
        running.join(timeout=60)
    assert not running.is_alive()


def test_nodes_that_disagree_are_measured_again_then_flagged_and_both_parties_told(api, relayer, nodes):
    for i, correct in enumerate((93, 90, 85)):
        nodes.accuracy(i, correct)
    receiver = WebhookReceiver()
    try:
        for party in (api.chain.client, api.chain.provider):
            api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.sign_in(party))
        agreement, provider = _funded(api)
        worker = _worker(api, relayer, nodes.urls)
        asked = api.client.post(f"/v1/agreements/{agreement['id']}/milestones/0/request-release", headers=provider)
        request_id = asked.json()["id"]
        done = _run_until(worker, lambda: (r := _request(api, provider, request_id))["status"] != "measuring" and r)
        assert (done["status"], done["round"], done["agreed_digest"]) == ("disagree", 2, None)
        rounds = {(a["round"], a["value"]) for a in done["answers"]}
        assert rounds == {(r, v) for r in (1, 2) for v in ("9300", "9000", "8500")}
        second = [a for a in done["answers"] if a["round"] == 2]
        assert {a["observed_at"] for a in second} == {done["observed_at"]}  # one new common time
        assert done["observed_at"] > min(a["observed_at"] for a in done["answers"])
        _run_until(worker, lambda: any(b'"milestone.oracles_disagree"' in body for _, body in receiver.received))
        flagged = [json.loads(b) for _, b in receiver.received if b'"milestone.oracles_disagree"' in b]
        assert len(flagged) == 2  # client and provider
        assert sorted((n["value"], n["evidenceHash"]) for n in flagged[0]["nodes"]) == sorted(
            (a["value"], a["evidence_hash"]) for a in second
        )
        kinds = {json.loads(b)["type"] for _, b in receiver.received}
        assert {"release.requested", "release.node", "release.remeasuring", "milestone.oracles_disagree"} <= kinds
    finally:
        receiver.close()
    assert _milestone_status(api, agreement["id"]) == "open"  # nothing settles; the parties may dispute
    dispute = api.client.post(
        f"/v1/agreements/{agreement['id']}/transactions/dispute",
        json={"index": 0},
        headers=api.sign_in(api.chain.client),
    )
    assert dispute.status_code == 200, dispute.text


def test_a_dead_node_and_a_silent_one_do_not_hold_up_the_two_that_agree_and_are_asked_again(api, relayer, nodes):
    for i in range(3):
        nodes.accuracy(i, 95)
    silent = WebhookReceiver()  # accepts connections; its handler is made to hang below
    silent.server.RequestHandlerClass.do_POST = lambda handler: time.sleep(5)
    dead, quiet = f"http://127.0.0.1:{free_port()}", silent.url.removesuffix("/hook")
    try:
        agreement, provider = _funded(api)
        worker = _worker(api, relayer, [nodes.urls[0], dead, quiet, nodes.urls[1]], oracle_node_timeout_seconds=1)
        asked = api.client.post(f"/v1/agreements/{agreement['id']}/milestones/0/request-release", headers=provider)
        _run_until(worker, lambda: _milestone_status(api, agreement["id"]) == "settled")
        done = _run_until(worker, lambda: _all_answered(api, provider, asked.json()["id"]))
        assert done["status"] == "agreed"  # once two agree, the others are not asked again
        by_node = {a["node"]: a for a in done["answers"]}
        assert by_node[dead]["status"] == "failed" and by_node[dead]["detail"].startswith("unreachable")
        assert by_node[quiet]["status"] == "timed_out" and "within 1" in by_node[quiet]["detail"]

        agreement, provider = _funded(api)  # only the two that never answer: asked again, then given up
        worker = _worker(api, relayer, [dead, quiet], oracle_node_timeout_seconds=1, oracle_node_attempts=2)
        asked = api.client.post(f"/v1/agreements/{agreement['id']}/milestones/0/request-release", headers=provider)
        done = _run_until(worker, lambda: _all_answered(api, provider, asked.json()["id"]))
    finally:
        silent.close()
    assert done["status"] == "failed"
    assert sorted((a["status"], a["attempts"]) for a in done["answers"]) == [("failed", 2), ("timed_out", 2)]


def test_a_lease_a_dead_worker_held_runs_out_and_another_worker_asks_again(api, relayer, nodes):
    for i in range(3):
        nodes.accuracy(i, 95)
    agreement, provider = _funded(api)
    worker = _worker(api, relayer, nodes.urls)
    request_id = api.client.post(
        f"/v1/agreements/{agreement['id']}/milestones/0/request-release", headers=provider
    ).json()["id"]
    lease_until = time.time() + 6  # longer than a worker's turn on a loaded machine
    with api.app.state.sessions() as session, session.begin():  # a worker leased them all, then died
        session.execute(update(NodeAnswer).values(status="asked", attempts=1, lease_until=lease_until))
    worker.turn()
    assert {a["status"] for a in _request(api, provider, request_id)["answers"]} == {"asked"}  # still leased
    time.sleep(max(0.0, lease_until - time.time()))
    _run_until(worker, lambda: _milestone_status(api, agreement["id"]) == "settled")
    answers = _request(api, provider, request_id)["answers"]
    assert {a["attempts"] for a in answers if a["status"] == "signed"} == {2}


def test_the_deadline_and_the_cadence_measure_with_no_click(api, relayer, nodes):
    for i in range(3):
        nodes.accuracy(i, 95)
    chain = api.chain
    agreement, provider = _funded(api, milestones=2, measure_every_seconds=DAY)
    worker = _worker(api, relayer, nodes.urls)
    _run_until(worker, lambda: _milestone_status(api, agreement["id"], 0) == "settled")
    with api.app.state.sessions() as session:
        triggers = {r.trigger for r in session.scalars(select(ReleaseRequest))}
    assert triggers == {"cadence"}  # measured before the deadline because the milestones ask for it
    assert _milestone_status(api, agreement["id"], 1) in ("open", "settled")

    agreement, provider = _funded(api)  # no cadence: nothing until the deadline
    worker.turn()
    with api.app.state.sessions() as session:
        count = len(session.scalars(select(ReleaseRequest).where(ReleaseRequest.agreement_pk == agreement["id"])).all())
    assert count == 0
    deadline = agreement["milestones"][0]["deadline"]
    chain.warp(deadline)
    chain.w3.eth.send_transaction({"from": chain.w3.eth.accounts[0], "to": chain.w3.eth.accounts[0], "value": 0})
    _run_until(worker, lambda: _milestone_status(api, agreement["id"]) == "settled")
    with api.app.state.sessions() as session:
        request = session.scalars(select(ReleaseRequest).where(ReleaseRequest.agreement_pk == agreement["id"])).one()
        assert (request.trigger, request.observed_at, request.requested_by) == ("deadline", deadline, "automation")
