"""The evidence each scenario's metrics are measured from, made as the real systems would hold it:
a model's predictions with their labels, pipeline reconciliation and rollout logs, a SaaS
product's own SQLite database, an analytics HTTP endpoint, acceptance and load-test logs. Seeded,
so every run measures the same values; timestamps are the chain's, so windows mean what they say."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

from attestpay.local_http import LocalServer, QuietHandler

HOUR, DAY = 3_600, 86_400


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def ai_pipelines(root: Path, now: int) -> None:
    """14 source systems loaded and reconciled against their row counts: all pass."""
    systems = [
        "core-banking",
        "cards",
        "payments",
        "kyc",
        "crm",
        "chargebacks",
        "merchants",
        "devices",
        "geo",
        "ledger",
        "fx-rates",
        "loans",
        "alerts",
        "case-notes",
    ]
    rng = random.Random("pipelines")
    _jsonl(
        root / "pipelines.jsonl",
        [
            {"time": now - (14 - i) * HOUR, "pipeline": s, "rows_loaded": rng.randint(10**5, 10**7), "reconciled": 1}
            for i, s in enumerate(systems)
        ],
    )


def ai_predictions(root: Path, now: int, rows: int = 2_000, wrong: int = 131) -> None:
    """The fraud model's predictions on the held-out production sample, with the investigators'
    labels: `wrong` of `rows` misclassified (accuracy 93.45% by default)."""
    rng = random.Random("predictions")
    misses = set(rng.sample(range(rows), wrong))
    records = []
    for i in range(rows):
        label = int(rng.random() < 0.3)
        records.append(
            {
                "time": now - DAY + i * 40,
                "transaction": f"tx-{i:05d}",
                "label": label,
                "prediction": 1 - label if i in misses else label,
            }
        )
    _jsonl(root / "predictions.jsonl", records)


def ai_rollout(root: Path, now: int) -> None:
    """The share of production traffic the new model serves, as the deploy tool logs it."""
    steps = [(5 * DAY, 10), (4 * DAY, 25), (2 * DAY, 50), (HOUR, 100)]
    _jsonl(root / "rollout.jsonl", [{"time": now - ago, "traffic_share_pct": share} for ago, share in steps])


def saas_database(path: Path, now: int) -> None:
    """The SaaS product's own tables: 1,600 sign-ups, 1,240 of them activated; 410 users opened
    the reporting feature in the 29 days before `now` (some several times)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    rng = random.Random("saas")
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, signed_up_at INTEGER, activated_at INTEGER)"
        )
        db.execute("CREATE TABLE feature_events (user_id INTEGER, feature TEXT, used_at INTEGER)")
        activated = set(rng.sample(range(1, 1_601), 1_240))
        for user in range(1, 1_601):
            signed_up = now - rng.randint(20, 60) * DAY
            active = signed_up + rng.randint(1, 10) * DAY if user in activated else None
            db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?)", (user, f"user{user}@customer.example", signed_up, active)
            )
        for user in rng.sample(sorted(activated), 410):
            for _ in range(rng.randint(1, 4)):
                db.execute(
                    "INSERT INTO feature_events VALUES (?, 'reports', ?)", (user, now - rng.randint(1, 29 * 24) * HOUR)
                )
        db.execute("INSERT INTO feature_events VALUES (1, 'reports', ?)", (now - 45 * DAY,))  # outside the window


def software_acceptance(root: Path, now: int, features: list[str], accepted: int) -> None:
    """The client's acceptance-test run: one record per feature, 1 when its tests passed."""
    _jsonl(
        root,
        [
            {"time": now - (len(features) - i) * HOUR, "feature": f, "accepted": int(i < accepted)}
            for i, f in enumerate(features)
        ],
    )


def software_load_test(root: Path, now: int, requests: int = 5_000) -> None:
    """A k6-style load-test log of the API: one record per request with its latency in ms."""
    rng = random.Random("load-test")
    _jsonl(
        root / "loadtest.jsonl",
        [
            {
                "time": now - HOUR + i * 600 // requests,
                "endpoint": "/api/orders",
                "latency_ms": round(rng.lognormvariate(4.7, 0.5), 1),
            }
            for i in range(requests)
        ],
    )


class AnalyticsEndpoint(LocalServer):
    """The agency's analytics API on loopback: daily sessions and conversions of the campaign, as
    far as the chain's clock has come (a day is reported once it is over)."""

    def __init__(self, campaign_start: int, clock: Callable[[], int]) -> None:
        rng = random.Random("campaign")
        days = [
            {
                "day": campaign_start + (d + 1) * DAY,
                "sessions": rng.randint(700, 1_100),
                "conversions": 9 + d // 3 + rng.randint(0, 4),
            }
            for d in range(45)
        ]

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                now = clock()
                body = json.dumps({"campaign": "spring-launch", "daily": [d for d in days if d["day"] <= now]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler, "/v1/campaigns/spring-launch/daily")
