"""The release requests' fan-out: every due node answer (`backend.services.release_requests`) is
leased in the database, then asked in a thread of its own, so all nodes of a request are asked at
once and a slow or dead node holds up no one (its per-node timeout, then retries with backoff).
The worker's turn only leases and submits; answers are recorded as they arrive."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.orm import sessionmaker

from backend.chain import ChainGateway
from backend.memory import BoundedMap
from backend.services.release_requests import Job, Outcome, claim_due, record
from backend.settings import Settings

log = logging.getLogger(__name__)


def outcome_of(response: httpx.Response, seconds: float) -> Outcome:
    """A node's HTTP answer: 200 signed; 503 (the source could not be measured) and other 5xx are
    asked again, then count as refused or failed; any other 4xx is a refusal with its reason."""
    if response.is_success:
        return Outcome("signed", response.json().get("pushError"), signed=response.json(), seconds=seconds)
    try:
        reason = response.json().get("detail")
    except ValueError:
        reason = response.text[:300]
    detail = f"HTTP {response.status_code}: {reason}"[:500]
    if response.status_code == 503:
        return Outcome("refused", detail, retry=True, seconds=seconds)
    if response.status_code >= 500:
        return Outcome("failed", detail, retry=True, seconds=seconds)
    return Outcome("refused", detail, seconds=seconds)


class Fanout:
    def __init__(self, sessions: sessionmaker, chain: ChainGateway, settings: Settings) -> None:
        self.sessions, self.chain, self.settings = sessions, chain, settings
        key = settings.oracle_node_api_key.get_secret_value() if settings.oracle_node_api_key else ""
        self.http = httpx.Client(
            timeout=httpx.Timeout(settings.oracle_node_timeout_seconds),
            headers={"X-API-Key": key},
            limits=httpx.Limits(max_connections=64),
        )
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="oracle-fanout")
        self.known = BoundedMap(1_000)  # agreements' facts, for intake

    def step(self) -> int:
        """Leases every due answer and asks its node in the background; returns how many."""
        lease = self.settings.oracle_node_timeout_seconds + 5
        with self.sessions() as session, session.begin():
            jobs = claim_due(session, time.time(), lease)
        for job in jobs:
            self.pool.submit(self._ask, job)
        return len(jobs)

    def _ask(self, job: Job) -> None:
        started = time.monotonic()
        try:
            response = self.http.post(job.node.rstrip("/") + "/v1/measurements", json=job.body)
            outcome = outcome_of(response, time.monotonic() - started)
        except httpx.TimeoutException:
            limit = self.settings.oracle_node_timeout_seconds
            outcome = Outcome(
                "timed_out", f"no answer within {limit} s", retry=True, seconds=time.monotonic() - started
            )
        except httpx.HTTPError as exc:
            detail = f"unreachable: {type(exc).__name__}: {exc}"[:500]
            outcome = Outcome("failed", detail, retry=True, seconds=time.monotonic() - started)
        try:
            with self.sessions() as session:
                record(session, self.chain, job, outcome, self.settings.oracle_node_attempts, self.known)
        except Exception:  # the database is away, say: the lease runs out and a worker asks again
            log.exception("could not record %s's answer to release request answer %s", job.node, job.answer_id)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.http.close()
