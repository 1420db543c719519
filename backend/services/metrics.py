"""The backend's Prometheus metrics read from the database at each scrape, so every replica
reports the same totals: relayer intents by state, release requests by status, and the oracle
nodes' answers by status (measurements signed, refusals, timeouts)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from backend.db.models import NodeAnswer, RelayIntent, ReleaseRequest


class DatabaseCollector(Collector):
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counted = (
            ("attestpay_relay_intents", "relayer intents by state", RelayIntent.status),
            ("attestpay_release_requests", "release requests by status", ReleaseRequest.status),
            ("attestpay_oracle_node_answers", "oracle nodes' answers to release requests by status", NodeAnswer.status),
        )
        with self.sessions() as session:
            for name, help_text, column in counted:
                family = GaugeMetricFamily(name, help_text, labels=["state"])
                for state, count in session.execute(select(column, func.count()).group_by(column)):
                    family.add_metric([state], count)
                yield family
