"""Automation: what the relayer should do, without anyone's click.

- An open milestone of an active agreement with a stored attestation that meets the target, has
  the threshold of signatures, is neither revoked nor expired (and, for an acceptance milestone,
  was approved by the client) gets a settle intent.
- A held holdback whose warranty period has passed on the chain's clock, and is not disputed,
  gets a release intent.
- An open milestone at its deadline, or due on its measuring cadence, gets a release request
  (`backend.services.release_requests.schedule`): the oracle nodes measure with no click.
Intents are keyed `settle:<agreementId>:<index>` and `release:<agreementId>:<index>`; inserting
one that exists changes nothing, so replicas may scan at the same time."""

from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, sessionmaker

from attestpay import payout
from backend.chain import ChainGateway
from backend.db.models import Agreement, AttestationRecord, MilestoneRecord, RelayIntent
from backend.engine import rpc
from backend.services import release_requests
from backend.services.intents import enqueue, settle_key
from backend.services.wallet_tx import release_holdback_call, settle_call
from backend.settings import Settings


def _pending(kind: str):
    """An intent of `kind` for the milestone is under way or done."""
    return exists().where(
        and_(
            RelayIntent.kind == kind,
            RelayIntent.agreement_pk == MilestoneRecord.agreement_pk,
            RelayIntent.milestone_index == MilestoneRecord.index,
            RelayIntent.status.not_in(("failed", "superseded")),
        )
    )


class Automation:
    def __init__(self, sessions: sessionmaker, chain: ChainGateway, settings: Settings) -> None:
        self.sessions, self.chain, self.settings = sessions, chain, settings

    def step(self) -> int:
        """Queues every settlement, holdback release and measurement now due; returns how many."""
        chain_now = rpc.call(self.chain, lambda w3: w3.eth.get_block("latest")["timestamp"])
        with self.sessions() as session, session.begin():
            return (
                self._settlements(session, chain_now)
                + self._holdbacks(session, chain_now)
                + release_requests.schedule(session, chain_now, self.settings.oracle_nodes)
            )

    def _settlements(self, session: Session, chain_now: int) -> int:
        candidates = session.execute(
            select(AttestationRecord, MilestoneRecord)
            .join(
                MilestoneRecord,
                and_(
                    MilestoneRecord.agreement_pk == AttestationRecord.agreement_pk,
                    MilestoneRecord.index == AttestationRecord.milestone_index,
                ),
            )
            .join(Agreement, Agreement.id == MilestoneRecord.agreement_pk)
            .where(
                Agreement.status == "active",
                MilestoneRecord.status == "open",
                AttestationRecord.revoked.is_(False),
                ~_pending("settle"),
            )
            .order_by(AttestationRecord.received_at, AttestationRecord.digest)
        ).all()
        queued = set()
        for record, milestone in candidates:
            agreement = milestone.agreement
            if (
                milestone.id in queued
                or record.expires_at <= chain_now
                or record.observed_at > chain_now
                or not payout.meets_target(milestone, record.value)
                or len(record.signatures) < agreement.threshold
                or (milestone.requires_client_approval and not milestone.client_approved)
            ):
                continue
            call = settle_call(self.chain, agreement, record)
            if enqueue(session, settle_key(agreement, milestone.index), "settle", call, agreement.id, milestone.index):
                queued.add(milestone.id)
        return len(queued)

    def _holdbacks(self, session: Session, chain_now: int) -> int:
        due = session.scalars(
            select(MilestoneRecord)
            .join(Agreement, Agreement.id == MilestoneRecord.agreement_pk)
            .where(
                Agreement.status == "active", MilestoneRecord.holdback_status == "held", ~_pending("release_holdback")
            )
        ).all()
        queued = 0
        for milestone in due:
            if milestone.settled_at + milestone.holdback_period > chain_now:
                continue
            agreement = milestone.agreement
            call = release_holdback_call(self.chain, agreement, milestone.index)
            queued += enqueue(
                session,
                f"release:{agreement.agreement_id}:{milestone.index}",
                "release_holdback",
                call,
                agreement.id,
                milestone.index,
            )
        return queued
