"""Release requests: "measure this milestone now", asked of every oracle node at one observation
time. The request and each node's answer are rows, so the work survives the HTTP request, a
crashed worker and a second replica: the engine's fan-out (`backend.engine.fanout`) takes due
answers from here, asks the nodes concurrently and records what they said through `record`.

A request ends `agreed` once one digest has the agreement's threshold of signatures (automation
then settles it if it meets the target), `failed` when too few nodes signed anything, and
`disagree` when the signed answers were split twice: the first split is measured once more at a
new common observation time. Each step is pushed to the parties' webhooks."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import String, and_, cast, exists, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.chain import ChainGateway
from backend.db.models import Agreement, MilestoneRecord, NodeAnswer, ReleaseRequest, now
from backend.domain.schemas import AttestationIn
from backend.errors import BackendError, Conflict, InvalidInput, NotFound
from backend.memory import BoundedMap
from backend.services import attestations, webhooks
from backend.services.access import require_party, require_read
from backend.services.auth import Principal
from backend.services.wakeup import wake_workers

FINAL = ("signed", "refused", "timed_out", "failed")
FANOUT = Principal(role="worker", name="oracle-fanout")


@dataclass(frozen=True)
class Job:
    """One node to ask, as leased by `claim_due`."""

    answer_id: int
    attempt: int
    node: str
    body: dict  # the node's /v1/measurements request


@dataclass(frozen=True)
class Outcome:
    """What a node said. `retry`: a fault worth asking again (timeout, unreachable, 5xx)."""

    status: str  # signed refused timed_out failed
    detail: str | None = None
    signed: dict | None = None  # the node's signed attestation, as it answers
    retry: bool = False
    seconds: float | None = None


def open_milestone(agreement: Agreement, index: int) -> MilestoneRecord:
    """The milestone, if it may still settle: an open milestone of an active agreement."""
    if index >= len(agreement.milestones):
        raise InvalidInput(f"agreement {agreement.id} has no milestone {index}", field="index")
    if agreement.status != "active":
        raise Conflict(f"agreement {agreement.id} is {agreement.status}; only a funded agreement settles")
    milestone = agreement.milestones[index]
    if milestone.status != "open":
        raise Conflict(f"milestone {index} is {milestone.status}")
    return milestone


def open_request(
    session: Session,
    agreement: Agreement,
    index: int,
    trigger: str,
    requested_by: str,
    observed_at: int,
    nodes: list[str],
    key: str,
) -> ReleaseRequest:
    """The request named `key`, created with one pending answer per node unless it exists (two
    replicas or two clicks make one request)."""
    existing = session.scalar(select(ReleaseRequest).where(ReleaseRequest.key == key))
    if existing is not None:
        return existing
    request = ReleaseRequest(
        key=key,
        agreement_pk=agreement.id,
        milestone_index=index,
        trigger=trigger,
        requested_by=requested_by,
        nodes=list(nodes),
        round=1,
        observed_at=observed_at,
        status="measuring",
        answers=[NodeAnswer(round=1, node=n, observed_at=observed_at) for n in nodes],
    )
    try:
        with session.begin_nested():
            session.add(request)
    except IntegrityError:
        return session.scalars(select(ReleaseRequest).where(ReleaseRequest.key == key)).one()
    wake_workers(session)  # the fan-out
    _notify(session, agreement, request, "release.requested", {"trigger": trigger})
    return request


def request(
    session: Session, chain: ChainGateway, nodes: list[str], principal: Principal, agreement: Agreement, index: int
) -> ReleaseRequest:
    """The provider's "measure now": a new request at the chain's time, or the one still measuring."""
    require_party(agreement, principal, "provider")
    open_milestone(agreement, index)
    if not nodes:
        raise Conflict("no oracle nodes are configured (ATTESTPAY_ORACLE_NODES); the oracles must push by themselves")
    running = session.scalar(
        select(ReleaseRequest).where(
            ReleaseRequest.agreement_pk == agreement.id,
            ReleaseRequest.milestone_index == index,
            ReleaseRequest.status == "measuring",
        )
    )
    if running is None:
        observed_at = chain.now()
        key = f"request:{agreement.agreement_id}:{index}:{observed_at}"
        running = open_request(session, agreement, index, "request", principal.label, observed_at, nodes, key)
    session.commit()
    return running


def claim_due(session: Session, now: float, lease_seconds: float, limit: int = 64) -> list[Job]:
    """Leases the answers due now (pending, or asked by a worker whose lease ran out), each to this
    caller alone (SKIP LOCKED); the caller commits, then asks the nodes."""
    rows = session.execute(
        select(NodeAnswer, ReleaseRequest)
        .join(ReleaseRequest, ReleaseRequest.id == NodeAnswer.request_id)
        .where(
            or_(
                and_(NodeAnswer.status == "pending", NodeAnswer.next_attempt_at <= now),
                and_(NodeAnswer.status == "asked", NodeAnswer.lease_until <= now),
            )
        )
        .order_by(NodeAnswer.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=NodeAnswer)
    ).all()
    jobs = []
    for answer, request in rows:
        agreement = session.get(Agreement, request.agreement_pk)
        milestone = agreement.milestones[request.milestone_index]
        if request.status != "measuring" or milestone.status != "open":
            reason = f"not asked again: the request is {request.status}, the milestone {milestone.status}"
            answer.status, answer.detail = "failed", "; ".join(filter(None, (answer.detail, reason)))[:500]
            if request.status == "measuring":  # the milestone was settled or reclaimed meanwhile: nothing to decide
                request.status = "failed"
                _notify(session, agreement, request, "release.failed", {"nodes": _results(request.answers)})
            continue
        answer.status, answer.attempts, answer.lease_until = "asked", answer.attempts + 1, now + lease_seconds
        if answer.attempts == 1:
            _notify_answer(session, agreement, request, answer)
        body = {
            "agreement_id": agreement.agreement_id,
            "milestone_index": request.milestone_index,
            "spec": milestone.spec,
            "observed_at": answer.observed_at,
        }
        jobs.append(Job(answer.id, answer.attempts, answer.node, body))
    return jobs


def record(
    session: Session,
    chain: ChainGateway,
    job: Job,
    outcome: Outcome,
    max_attempts: int,
    known: BoundedMap,
) -> None:
    """Stores a node's answer (a signature goes through intake, like a node's own push), then
    decides the request. An answer to a lease that was taken over since is dropped."""
    if outcome.signed is not None:
        try:
            attestations.intake(session, FANOUT, AttestationIn.model_validate(outcome.signed), known)
        except (BackendError, ValueError) as exc:
            session.rollback()
            outcome = Outcome("failed", f"the backend refused its signature: {exc}"[:500], seconds=outcome.seconds)
    with session.begin():
        # A write first: it takes the request's row lock (PostgreSQL) or the database's write lock
        # (SQLite) before anything is read, so the answers of one request are decided one at a time.
        of_answer = select(NodeAnswer.request_id).where(NodeAnswer.id == job.answer_id).scalar_subquery()
        session.execute(update(ReleaseRequest).where(ReleaseRequest.id == of_answer).values(updated_at=now()))
        answer = session.get(NodeAnswer, job.answer_id)
        request = session.get(ReleaseRequest, answer.request_id)
        if answer.status != "asked" or answer.attempts != job.attempt:
            return
        answer.detail, answer.seconds = outcome.detail, outcome.seconds
        if outcome.retry and answer.attempts < max_attempts and request.status == "measuring":
            answer.status, answer.next_attempt_at = "pending", time.time() + 0.5 * 2 ** (answer.attempts - 1)
            return
        answer.status = outcome.status
        if outcome.signed is not None and outcome.status == "signed":
            message = outcome.signed["attestation"]
            answer.value, answer.evidence_hash = int(message["value"]), message["evidenceHash"]
            answer.digest, answer.signer = outcome.signed["digest"], outcome.signed["signer"]
        agreement = session.get(Agreement, request.agreement_pk)
        _notify_answer(session, agreement, request, answer)
        decide(session, chain, agreement, request)


def decide(session: Session, chain: ChainGateway, agreement: Agreement, request: ReleaseRequest) -> None:
    """Agreed as soon as one digest has the threshold; once every node of the round has answered:
    a split is measured once more at a new common time, and split twice it is flagged."""
    if request.status != "measuring":
        return
    answers = [a for a in request.answers if a.round == request.round]
    by_digest = Counter(a.digest for a in answers if a.status == "signed")
    if by_digest and (top := by_digest.most_common(1)[0])[1] >= agreement.threshold:
        request.status, request.agreed_digest = "agreed", top[0]
        _notify(session, agreement, request, "release.agreed", {"digest": top[0]})
        return
    if any(a.status not in FINAL for a in answers):
        return
    if len(by_digest) < 2:
        request.status = "failed"
        _notify(session, agreement, request, "release.failed", {"nodes": _results(answers)})
        return
    if request.round == 1:
        request.round, request.observed_at = 2, max(chain.now(), request.observed_at + 1)
        request.answers.extend(NodeAnswer(round=2, node=n, observed_at=request.observed_at) for n in request.nodes)
        wake_workers(session)
        _notify(session, agreement, request, "release.remeasuring", {"nodes": _results(answers)})
        return
    request.status = "disagree"
    _notify(session, agreement, request, "milestone.oracles_disagree", {"nodes": _results(answers)})


def _results(answers: list[NodeAnswer]) -> list[dict]:
    return [
        {
            "node": a.node,
            "status": a.status,
            "signer": a.signer,
            "value": None if a.value is None else str(a.value),
            "evidenceHash": a.evidence_hash,
            "digest": a.digest,
            "detail": a.detail,
        }
        for a in answers
    ]


def _notify(session: Session, agreement: Agreement, request: ReleaseRequest, kind: str, extra: dict) -> None:
    payload = {
        "type": kind,
        "agreementId": agreement.agreement_id,
        "agreement": agreement.id,
        "milestoneIndex": request.milestone_index,
        "releaseRequest": request.id,
        "round": request.round,
        "observedAt": request.observed_at,
    } | extra
    session.flush()  # the request's id
    webhooks.notify_parties(session, agreement, f"{kind}:{request.id}:{request.round}", payload)


def _notify_answer(session: Session, agreement: Agreement, request: ReleaseRequest, answer: NodeAnswer) -> None:
    (result,) = _results([answer])
    webhooks.notify_parties(
        session,
        agreement,
        f"release.node:{request.id}:{answer.round}:{answer.node}:{answer.status}",
        {
            "type": "release.node",
            "agreementId": agreement.agreement_id,
            "agreement": agreement.id,
            "milestoneIndex": request.milestone_index,
            "releaseRequest": request.id,
            "round": answer.round,
            "observedAt": answer.observed_at,
        }
        | result,
    )


def get(session: Session, principal: Principal, request_id: int) -> ReleaseRequest:
    request = session.get(ReleaseRequest, request_id)
    if request is None:
        raise NotFound(f"no release request {request_id}")
    require_read(session.get(Agreement, request.agreement_pk), principal)
    return request


def for_agreement(session: Session, principal: Principal, agreement: Agreement) -> list[ReleaseRequest]:
    """The agreement's release requests, newest first."""
    require_read(agreement, principal)
    query = select(ReleaseRequest).where(ReleaseRequest.agreement_pk == agreement.id)
    return list(session.scalars(query.order_by(ReleaseRequest.id.desc()).limit(200)))


DEADLINE_GRACE = 3_600  # a deadline found later than this is measured now, not at the deadline


def schedule(session: Session, chain_now: int, nodes: list[str]) -> int:
    """Opens the measurements the clock makes due: every open milestone of an active agreement at
    its deadline (once), and before it every `measure_every_seconds` when the milestone asks (a
    request of any kind within that period counts). Returns how many it opened."""
    if not nodes:
        return 0
    deadline_key = literal("deadline:") + Agreement.agreement_id + ":" + cast(MilestoneRecord.index, String)
    recent = exists().where(
        ReleaseRequest.agreement_pk == MilestoneRecord.agreement_pk,
        ReleaseRequest.milestone_index == MilestoneRecord.index,
        ReleaseRequest.observed_at > chain_now - MilestoneRecord.measure_every_seconds,
    )
    due = session.execute(
        select(MilestoneRecord, Agreement)
        .join(Agreement, Agreement.id == MilestoneRecord.agreement_pk)
        .where(
            Agreement.status == "active",
            MilestoneRecord.status == "open",
            or_(
                and_(MilestoneRecord.deadline <= chain_now, ~exists().where(ReleaseRequest.key == deadline_key)),
                and_(MilestoneRecord.deadline > chain_now, MilestoneRecord.measure_every_seconds.is_not(None), ~recent),
            ),
        )
    ).all()
    for milestone, agreement in due:
        prefix = f"{agreement.agreement_id}:{milestone.index}"
        if milestone.deadline <= chain_now:
            late = chain_now - milestone.deadline >= DEADLINE_GRACE
            at, trigger, key = chain_now if late else milestone.deadline, "deadline", f"deadline:{prefix}"
        else:
            slot = chain_now // milestone.measure_every_seconds
            at, trigger, key = chain_now, "cadence", f"cadence:{prefix}:{slot}"
        open_request(session, agreement, milestone.index, trigger, "automation", at, nodes, key)
    return len(due)
