"""The four agreements of the business background (shared/seeds), played through the API as their
parties would: the client drafts, both consent, the client funds from its wallet, the provider asks
for release, three oracle nodes measure the evidence and sign, the worker settles. Time moves by
the chain's clock only."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from eth_account import Account

from attestpay_cli.demo import evidence
from attestpay_cli.demo.stage import DemoFailed, Stage
from backend.client import ApiError

DAY, HOUR = evidence.DAY, evidence.HOUR
UNIT = 10**18  # mUSD (the test ERC-20) and ether both have 18 decimals


@dataclass
class Played:
    """What the document needs beyond the chain and the API: the agreement and, per milestone, the
    attestation it was decided on when nothing settled on one (a dispute), and what happened."""

    name: str
    pk: int
    story: dict[int, list[str]] = field(default_factory=dict)
    measured: dict[int, str] = field(default_factory=dict)  # milestone -> attestation digest

    def tell(self, index: int, line: str) -> None:
        self.story.setdefault(index, []).append(line)


class Deal:
    """One agreement, acted on by its parties."""

    def __init__(self, stage: Stage, name: str, body: dict) -> None:
        self.stage = stage
        body = {
            "client": stage.client.address,
            "provider": stage.provider.address,
            "arbiter": stage.arbiter.address,
            "oracles": stage.oracle_addresses,
            "threshold": 2,
        } | body
        try:
            agreement = stage.api.consented_agreement(body, stage.client.key, stage.provider.key)
        except ApiError as exc:
            raise DemoFailed(f"{name}: the agreement was refused: {exc}") from None
        self.pk = agreement["id"]
        self.played = Played(name, self.pk)
        stage.act(stage.client, f"/v1/agreements/{self.pk}/transactions/fund")
        stage.wait_for(self.pk, lambda a: a["status"] == "active", "funding")

    def path(self, tail: str) -> str:
        return f"/v1/agreements/{self.pk}/{tail}"

    def request_release(self, index: int) -> dict:
        """The provider asks; the workers have every oracle node measure at the chain's time and sign."""
        asked = self.stage.call(self.stage.provider, "POST", self.path(f"milestones/{index}/request-release"))
        answer = self.stage.release_request(asked["id"])
        if answer["status"] != "agreed":
            raise DemoFailed(
                f"agreement {self.pk} milestone {index}: the oracle nodes ended {answer['status']}: {answer['answers']}"
            )
        self.played.measured[index] = answer["agreed_digest"]
        signed = [a for a in answer["answers"] if a["digest"] == answer["agreed_digest"]]
        self.played.tell(
            index, f"provider requested release: {len(signed)} oracle nodes measured the evidence and signed"
        )
        return answer | {"value": signed[0]["value"]}

    def milestone(self, index: int) -> dict:
        return self.stage.agreement(self.pk)["milestones"][index]

    def until(self, index: int, done, what: str) -> dict:
        return self.stage.wait_for(self.pk, lambda a: done(a["milestones"][index]), f"milestone {index}: {what}")[
            "milestones"
        ][index]

    def settled(self, index: int) -> dict:
        m = self.until(index, lambda m: m["status"] == "settled", "settlement")
        self.played.tell(index, "the worker settled it from the relayer's key (no click)")
        return m

    def approve(self, index: int) -> None:
        self.stage.act(self.stage.client, self.path("transactions/approve"), {"index": index})
        self.played.tell(index, "client approved the delivery from its wallet")

    def accept_partial(self, index: int) -> None:
        """The provider signs the PartialAcceptance of the measured result; the relayer settles it."""
        digest, stage = self.played.measured[index], self.stage
        data = stage.call(
            stage.provider, "GET", self.path(f"milestones/{index}/accept-partial"), params={"attestation": digest}
        )
        signature = "0x" + Account.sign_typed_data(stage.provider.key, full_message=data["typed_data"]).signature.hex()
        stage.call(
            stage.provider,
            "POST",
            self.path(f"milestones/{index}/accept-partial"),
            json={"attestation": digest, "signature": signature},
        )
        self.played.tell(index, "provider accepted the partial result (EIP-712 signature)")

    def dispute(self, index: int) -> None:
        self.stage.act(self.stage.client, self.path("transactions/dispute"), {"index": index})
        self.played.tell(index, "client disputed the milestone: its funds are frozen")

    def resolve(self, index: int, provider_share_bps: int) -> None:
        self.stage.act(
            self.stage.arbiter,
            self.path("transactions/resolve-dispute"),
            {"index": index, "provider_share_bps": provider_share_bps},
        )
        self.until(index, lambda m: m["status"] == "resolved", "the arbiter's split")
        self.played.tell(
            index, f"arbiter split it: {provider_share_bps / 100:g}% to the provider, the rest back to the client"
        )

    def reclaim(self, index: int) -> None:
        self.stage.act(self.stage.client, self.path("transactions/reclaim"), {"index": index})
        self.played.tell(index, "client reclaimed amount + bonus after deadline + cure window")


def _spec(
    name: str, unit: str, decimals: int, higher_is_better: bool, source: dict, aggregation: str = "latest", **extra
) -> dict:
    return {
        "name": name,
        "version": 1,
        "unit": unit,
        "decimals": decimals,
        "higher_is_better": higher_is_better,
        "source": source,
        "aggregation": aggregation,
    } | extra


def _milestone(title: str, spec: dict, amount: int, floor: int, target: int, deadline: int, **terms) -> dict:
    body = {
        "title": title,
        "spec": spec,
        "amount": str(amount * UNIT),
        "floor": str(floor),
        "target": str(target),
        "stretch": str(terms.pop("stretch", target)),
        "deadline": deadline,
    }
    if "bonus" in terms:
        body["bonus"] = str(terms.pop("bonus") * UNIT)
    return body | terms


def ai_implementation(stage: Stage) -> Played:
    """Enterprise AI implementation: data integration (client acceptance), model accuracy >= 92%
    (2-of-3 oracles, 10% holdback for a 30-day warranty), production rollout."""
    t0, root = stage.now(), stage.data / "ai"
    deal = Deal(
        stage,
        "AI implementation",
        {
            "title": "Fraud-detection model for Northwind Bank",
            "token": stage.token.address,
            "cure_window": 14 * DAY,
            "milestones": [
                _milestone(
                    "Data integration: 14 source systems reconciled",
                    _spec(
                        "pipelines reconciled",
                        "pipelines",
                        0,
                        True,
                        {
                            "kind": "jsonl",
                            "path": "ai/pipelines.jsonl",
                            "value_field": "reconciled",
                            "time_field": "time",
                        },
                        "sum",
                    ),
                    20_000,
                    12,
                    14,
                    t0 + 21 * DAY,
                    floor_payout_bps=8_000,
                    requires_client_approval=True,
                ),
                _milestone(
                    "Model accuracy >= 92% on production traffic",
                    _spec(
                        "fraud model accuracy",
                        "accuracy",
                        4,
                        True,
                        {"kind": "model_eval", "path": "ai/predictions.jsonl", "metric": "accuracy"},
                    ),
                    50_000,
                    8_800,
                    9_200,
                    t0 + 45 * DAY,
                    stretch=9_600,
                    bonus=5_000,
                    floor_payout_bps=5_000,
                    late_penalty_bps_per_day=100,
                    max_late_penalty_bps=1_000,
                    holdback_bps=1_000,
                    holdback_period=30 * DAY,
                ),
                _milestone(
                    "Production rollout: 100% of traffic",
                    _spec(
                        "traffic on the new model",
                        "percent",
                        0,
                        True,
                        {
                            "kind": "jsonl",
                            "path": "ai/rollout.jsonl",
                            "value_field": "traffic_share_pct",
                            "time_field": "time",
                        },
                    ),
                    30_000,
                    50,
                    100,
                    t0 + 60 * DAY,
                    floor_payout_bps=5_000,
                ),
            ],
        },
    )
    stage.warp_to(t0 + 12 * DAY)
    evidence.ai_pipelines(root, stage.now())
    deal.request_release(0)
    deal.approve(0)
    deal.settled(0)

    stage.warp_to(t0 + 40 * DAY)
    evidence.ai_predictions(root, stage.now())
    deal.request_release(1)
    settled = deal.settled(1)
    deal.played.tell(1, f"{int(settled['holdback']) / UNIT:,.2f} held back for the 30-day warranty")

    stage.warp_to(t0 + 55 * DAY)
    evidence.ai_rollout(root, stage.now())
    deal.request_release(2)
    deal.settled(2)

    stage.warp_to(settled["settled_at"] + 30 * DAY + HOUR)
    deal.until(1, lambda m: m["holdback_status"] == "released", "holdback release")
    deal.played.tell(1, "warranty over on the chain's clock: the worker released the holdback")
    return deal.played


def saas_onboarding(stage: Stage) -> Played:
    """SaaS onboarding: activated users counted by a SQL query on the product's database (bonus
    above target), feature adoption reached partially and accepted by the provider."""
    t0 = stage.now()
    database = stage.data / "saas" / "product.db"
    evidence.saas_database(database, t0)
    os.environ["SOURCE_SAAS_DB"] = f"sqlite:///file:{database}?mode=ro&uri=true"  # how every oracle node reaches it
    query = (
        "SELECT user_id, MAX(used_at) AS time, 1 AS value FROM feature_events WHERE feature = 'reports' "
        "GROUP BY user_id ORDER BY user_id"
    )
    deal = Deal(
        stage,
        "SaaS onboarding",
        {
            "title": "Onboarding of Contoso's sales team",
            "token": stage.token.address,
            "milestones": [
                _milestone(
                    "1,000 activated users",
                    _spec(
                        "activated users",
                        "users",
                        0,
                        True,
                        {
                            "kind": "sql",
                            "url_env": "SOURCE_SAAS_DB",
                            "query": "SELECT id, activated_at AS time, 1 AS value FROM users WHERE activated_at IS NOT NULL ORDER BY id",
                        },
                        "count",
                    ),
                    10_000,
                    600,
                    1_000,
                    t0 + 30 * DAY,
                    stretch=1_500,
                    bonus=2_000,
                    floor_payout_bps=5_000,
                ),
                _milestone(
                    "500 users on the reporting feature in 30 days",
                    _spec(
                        "reporting feature users, 30 days",
                        "users",
                        0,
                        True,
                        {"kind": "sql", "url_env": "SOURCE_SAAS_DB", "query": query},
                        "count",
                        window_seconds=30 * DAY,
                    ),
                    8_000,
                    300,
                    500,
                    t0 + 30 * DAY,
                    floor_payout_bps=5_000,
                ),
            ],
        },
    )
    stage.warp_to(t0 + 2 * DAY)
    deal.request_release(0)
    deal.settled(0)

    stage.warp_to(t0 + 3 * DAY)
    measured = deal.request_release(1)
    deal.played.tell(1, f"{measured['value']} is below the target 500: nothing settles by itself")
    deal.accept_partial(1)
    deal.settled(1)
    return deal.played


def marketing_agency(stage: Stage) -> Played:
    """Marketing agency, paid in ether: sessions and conversions from the analytics HTTP endpoint;
    the conversion target is reached after its deadline, with a late penalty."""
    t0 = stage.now()
    analytics = evidence.AnalyticsEndpoint(t0, stage.now)
    try:
        source = {"kind": "http_json", "url": analytics.url, "records_field": "daily", "time_field": "day"}
        deal = Deal(
            stage,
            "Marketing agency",
            {
                "title": "Spring launch campaign for Fabrikam",
                "token": None,
                "milestones": [
                    _milestone(
                        "15,000 sessions in the first 21 days",
                        _spec(
                            "campaign sessions, 21 days",
                            "sessions",
                            0,
                            True,
                            source | {"value_field": "sessions"},
                            "sum",
                            window_seconds=21 * DAY,
                        ),
                        2,
                        10_000,
                        15_000,
                        t0 + 22 * DAY,
                        stretch=20_000,
                        bonus=1,
                        floor_payout_bps=5_000,
                    ),
                    _milestone(
                        "500 conversions by day 30",
                        _spec(
                            "campaign conversions",
                            "conversions",
                            0,
                            True,
                            source | {"value_field": "conversions"},
                            "sum",
                        ),
                        4,
                        300,
                        500,
                        t0 + 30 * DAY,
                        stretch=600,
                        bonus=1,
                        floor_payout_bps=4_000,
                        late_penalty_bps_per_day=200,
                        max_late_penalty_bps=1_000,
                    ),
                ],
            },
        )
        stage.warp_to(t0 + 21 * DAY + HOUR)
        deal.request_release(0)
        deal.settled(0)

        stage.warp_to(t0 + 30 * DAY)
        early = deal.request_release(1)
        deal.played.tell(
            1, f"at the deadline: {early['value']} conversions, below target; the provider waits rather than accept"
        )
        stage.warp_to(t0 + 32 * DAY + HOUR)
        deal.request_release(1)
        deal.settled(1)
    finally:
        analytics.close()
    return deal.played


def custom_software(stage: Stage) -> Played:
    """Custom software: feature acceptance by the client, p95 latency (lower is better) from a
    load-test log, a milestone disputed and split by the arbiter, one missed and reclaimed."""
    t0, root = stage.now(), stage.data / "software"
    acceptance = {"kind": "jsonl", "value_field": "accepted", "time_field": "time"}
    deal = Deal(
        stage,
        "Custom software",
        {
            "title": "Order-management platform for Tailspin Toys",
            "token": stage.token.address,
            "cure_window": 7 * DAY,
            "milestones": [
                _milestone(
                    "Release 1: 12 features accepted",
                    _spec(
                        "release 1 features accepted",
                        "features",
                        0,
                        True,
                        acceptance | {"path": "software/release-1.jsonl"},
                        "sum",
                    ),
                    24_000,
                    10,
                    12,
                    t0 + 30 * DAY,
                    floor_payout_bps=7_000,
                    requires_client_approval=True,
                ),
                _milestone(
                    "p95 latency <= 300 ms under load",
                    _spec(
                        "orders API p95 latency",
                        "ms",
                        0,
                        False,
                        {
                            "kind": "jsonl",
                            "path": "software/loadtest.jsonl",
                            "value_field": "latency_ms",
                            "time_field": "time",
                        },
                        "p95",
                    ),
                    16_000,
                    500,
                    300,
                    t0 + 30 * DAY,
                    stretch=200,
                    bonus=3_000,
                    floor_payout_bps=5_000,
                ),
                _milestone(
                    "Release 2: 8 features accepted",
                    _spec(
                        "release 2 features accepted",
                        "features",
                        0,
                        True,
                        acceptance | {"path": "software/release-2.jsonl"},
                        "sum",
                    ),
                    20_000,
                    6,
                    8,
                    t0 + 45 * DAY,
                    floor_payout_bps=5_000,
                    requires_client_approval=True,
                ),
                _milestone(
                    "Mobile app live in both stores",
                    _spec(
                        "app store approvals",
                        "stores",
                        0,
                        True,
                        {
                            "kind": "jsonl",
                            "path": "software/stores.jsonl",
                            "value_field": "approved",
                            "time_field": "time",
                        },
                        "sum",
                    ),
                    10_000,
                    2,
                    2,
                    t0 + 50 * DAY,
                ),
            ],
        },
    )
    stage.warp_to(t0 + 20 * DAY)
    features = [
        "catalog",
        "search",
        "cart",
        "checkout",
        "payments",
        "invoices",
        "refunds",
        "stock",
        "shipping",
        "returns",
        "reports",
        "admin",
    ]
    evidence.software_acceptance(root / "release-1.jsonl", stage.now(), features, accepted=12)
    deal.request_release(0)
    deal.approve(0)
    deal.settled(0)
    evidence.software_load_test(root, stage.now())
    deal.request_release(1)
    deal.settled(1)

    stage.warp_to(t0 + 40 * DAY)
    evidence.software_acceptance(
        root / "release-2.jsonl",
        stage.now(),
        ["b2b-portal", "edi", "bulk-import", "pricing", "quotes", "credit", "sso", "audit-log"],
        accepted=6,
    )
    measured = deal.request_release(2)
    deal.played.tell(2, f"{measured['value']} of 8 features pass; the provider asks to be paid in full")
    deal.dispute(2)
    deal.resolve(2, 6_000)

    stage.warp_to(t0 + 50 * DAY + 7 * DAY + HOUR)
    deal.played.tell(3, "deadline and the 7-day cure window passed with no delivery and no attestation")
    deal.reclaim(3)
    deal.until(3, lambda m: m["status"] == "reclaimed", "reclaim")
    return deal.played


SCENARIOS = (ai_implementation, saas_onboarding, marketing_agency, custom_software)
