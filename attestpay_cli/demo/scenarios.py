"""The four agreements of the business background (shared/seeds), played through the API as their
parties would: the client drafts, both consent, the client funds from its wallet, the provider asks
for release, three oracle nodes measure the evidence and sign, the worker settles. Time moves by
the chain's clock only."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account

from attestpay.terms_file import TermsError, load_terms
from attestpay.tokens import TokenRegistry
from attestpay_cli.demo import evidence
from attestpay_cli.demo.stage import DemoFailed, Stage
from backend.client import ApiError

DAY, HOUR = evidence.DAY, evidence.HOUR
UNIT = 10**18  # mUSD (the test ERC-20) and ether both have 18 decimals
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # the scenarios' terms files, also `attestpay terms check`


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


class PlayedAgreement:
    """One agreement, acted on by its parties."""

    def __init__(self, stage: Stage, name: str, body: dict) -> None:
        self.stage = stage
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


def terms(stage: Stage, example: str, start: int) -> dict:
    """The body of POST /v1/agreements from `examples/<example>`, the terms file a person would
    write: its names are the stage's wallets and oracles, its relative deadlines count from `start`."""
    tokens = TokenRegistry(stage.w3)
    tokens.token(stage.token.address)  # mUSD, read from the chain
    names = {"client": stage.client.address, "provider": stage.provider.address, "arbiter": stage.arbiter.address}
    names |= {f"oracle-{n}": address for n, address in enumerate(stage.oracle_addresses, 1)}
    try:
        return load_terms(EXAMPLES / example, now=start, tokens=tokens).api_body(names, tokens)
    except TermsError as exc:
        raise DemoFailed(f"examples/{example}: {exc}") from None


def ai_implementation(stage: Stage) -> Played:
    """Enterprise AI implementation: data integration (client acceptance), model accuracy >= 92%
    (2-of-3 oracles, 10% holdback for a 30-day warranty), production rollout."""
    t0, root = stage.now(), stage.data / "ai"
    deal = PlayedAgreement(stage, "AI implementation", terms(stage, "ai-implementation.json", t0))
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
    deal = PlayedAgreement(stage, "SaaS onboarding", terms(stage, "saas-onboarding.json", t0))
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
        body = terms(stage, "marketing-agency.json", t0)
        for m in body["milestones"]:  # the example names a fixed URL; the demo serves the endpoint on a free port
            m["spec"]["source"]["url"] = analytics.url
        deal = PlayedAgreement(stage, "Marketing agency", body)
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
    deal = PlayedAgreement(stage, "Custom software", terms(stage, "custom-software.json", t0))
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
