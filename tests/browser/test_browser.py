"""The web dashboard in a real browser (Playwright driving Debian's Chromium, headless) against the
backend and its worker as processes on anvil. The page gets an EIP-1193 provider, as MetaMask
injects one, that signs with anvil's dev accounts and forwards everything else to anvil. A client
and a provider sign in, draft, consent, fund; the oracles attest; the settlement appears; the
provider, whose address the token blocks, withdraws the credited payment elsewhere. Screenshots
of each page go to build/screenshots/. `make test-browser` runs these tests alone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from backend_support import OPERATOR_KEY
from engine_support import RELAYER_PASSWORD, relayer_keystore
from eth_account import Account
from eth_account.messages import encode_defunct

from attestpay import typed_data
from attestpay.contracts import deploy
from attestpay.devchain import dev_party
from attestpay.devstack import service_env, start_api, start_worker, stop
from attestpay.terms import Attestation
from backend.client import BackendClient
from oracle.anchoring import AttestationBatch

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
UNIT = 10**18

# window.ethereum, forwarding every request to the test's wallet (a Python function the page may call).
PROVIDER = """
window.ethereum = {
  isAttestPayTestWallet: true,
  async request({ method, params }) {
    const answer = JSON.parse(await window.__wallet(JSON.stringify({ method, params: params || [] })));
    if (answer.error) { const e = new Error(answer.error.message); e.code = answer.error.code; throw e; }
    return answer.result;
  },
  on() {}, removeListener() {},
};
"""


class Wallet:
    """The EIP-1193 provider's other half: signs as `party` (switchable, like accounts in MetaMask)
    and forwards reads to anvil."""

    def __init__(self, chain) -> None:
        self.chain, self.party = chain, chain.client
        self.refuse_next_transaction = False  # as a user pressing "Reject" in the wallet

    def handle(self, payload: str) -> str:
        request = json.loads(payload)
        if request["method"] == "eth_sendTransaction" and self.refuse_next_transaction:
            self.refuse_next_transaction = False
            return json.dumps({"error": {"code": 4001, "message": "User rejected the request."}})
        try:
            return json.dumps({"result": self.answer(request["method"], request["params"])})
        except Exception as exc:  # the page sees the error as a wallet's JSON-RPC error
            return json.dumps({"error": {"code": -32603, "message": str(exc)}})

    def answer(self, method: str, params: list):
        key, w3 = self.party.key, self.chain.w3
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.party.address]
        if method == "personal_sign":
            return "0x" + Account.sign_message(encode_defunct(hexstr=params[0]), key).signature.hex()
        if method == "eth_signTypedData_v4":
            return "0x" + Account.sign_typed_data(key, full_message=json.loads(params[1])).signature.hex()
        if method == "eth_sendTransaction":
            tx = params[0]
            fields = {
                "from": self.party.address,
                "to": tx["to"],
                "data": tx.get("data", "0x"),
                "value": int(tx.get("value", "0x0"), 16),
                "chainId": w3.eth.chain_id,
                "nonce": w3.eth.get_transaction_count(self.party.address),
                "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
            fields["gas"] = int(tx["gas"], 16) if tx.get("gas") else w3.eth.estimate_gas(fields)
            return w3.eth.send_raw_transaction(Account.sign_transaction(fields, key).raw_transaction).to_0x_hex()
        response = w3.provider.make_request(method, params)
        if "error" in response:
            raise RuntimeError(response["error"].get("message", response["error"]))
        return response["result"]


@pytest.fixture
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: CI must run the browser tests (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs these tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def dashboard(anvil, tmp_path):
    """The backend (API and a worker) on anvil and SQLite, with a token that can block an account."""
    keystore, _ = relayer_keystore(tmp_path, anvil.relayer.key)
    env = service_env(
        anvil,
        tmp_path,
        f"sqlite:///{tmp_path}/api.db",
        keystore,
        RELAYER_PASSWORD,
        ATTESTPAY_MIGRATE_ON_START="true",
        ATTESTPAY_OPERATOR_API_KEY=OPERATOR_KEY,
    )
    api, url = start_api(env, tmp_path / "api.log")
    worker = start_worker(env, tmp_path / "worker.log")
    token = deploy(anvil.w3, "BlocklistToken", sender=dev_party(0).address)
    token.functions.mint(anvil.client.address, 10**24).transact({"from": dev_party(0).address})
    yield url, token
    stop(api, worker)


def attest(chain, url: str, agreement: dict, index: int, value: int) -> bytes:
    """Two of the three oracles push their signatures of `value`, as the oracle service does; returns the digest."""
    client = BackendClient(url)
    key = client.request(
        "POST", "/v1/api-keys", json={"name": f"oracle-{index}", "role": "oracle"}, headers={"X-API-Key": OPERATOR_KEY}
    )["key"]
    att = Attestation(
        bytes.fromhex(agreement["agreement_id"][2:]),
        index,
        bytes.fromhex(agreement["milestones"][index]["metric_id"][2:]),
        value,
        chain.now(),
        bytes([index + 1]) * 32,
        chain.now() + 86_400,
    )
    digest = typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
    message = att.to_json()
    for oracle in chain.oracles[:2]:
        client.request(
            "POST",
            "/v1/attestations",
            headers={"X-API-Key": key},
            json={
                "attestation": message,
                "signer": oracle.address,
                "signature": "0x" + typed_data.sign(oracle.key, digest).hex(),
            },
        )
    return digest


def anchor(chain, url: str, digests: list[bytes]) -> None:
    """An oracle anchors the batch on the registry and reports each attestation's inclusion proof."""
    batch = AttestationBatch.of(digests)
    chain.registry.functions.anchor(batch.root, len(digests), "evidence:0x" + "00" * 32).transact(
        {"from": chain.oracles[0].address}
    )
    client = BackendClient(url)
    key = client.request(
        "POST", "/v1/api-keys", json={"name": "anchoring", "role": "oracle"}, headers={"X-API-Key": OPERATOR_KEY}
    )["key"]
    for digest in digests:
        client.request(
            "POST",
            f"/v1/attestations/0x{digest.hex()}/anchoring",
            headers={"X-API-Key": key},
            json={"root": "0x" + batch.root.hex(), "proof": ["0x" + p.hex() for p in batch.proof(digest)]},
        )


def settled_count(page, count: int) -> None:
    """Reloads until `count` milestones show as settled: the worker settles by itself."""
    for _ in range(60):
        page.reload()
        page.wait_for_selector("h3")
        if page.locator("h3 .badge.settled").count() >= count:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{count} milestones did not settle: {page.inner_text('main')[:2000]}")


def test_parties_agree_fund_see_the_settlement_and_withdraw_in_the_browser(anvil, dashboard, browser):
    url, token = dashboard
    SHOTS.mkdir(parents=True, exist_ok=True)
    wallet = Wallet(anvil)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.expose_function("__wallet", wallet.handle)
    page.add_init_script(PROVIDER)

    def sign_in_as(party) -> None:
        wallet.party = party
        if page.locator("#sign-out").count():
            page.click("#sign-out")
        page.click("#sign-in")
        page.wait_for_selector("#sign-out")

    page.goto(url + "/app/")
    page.wait_for_selector("#sign-in-main")
    page.screenshot(path=SHOTS / "sign-in.png")
    sign_in_as(anvil.client)
    page.wait_for_selector("text=Your agreements")

    page.goto(url + "/app/#/new")
    page.fill("#title", "Fraud model in production")
    page.fill("#provider", anvil.provider.address)
    page.fill("#arbiter", anvil.arbiter.address)
    page.fill("#token", token.address)
    page.fill("#oracles", "\n".join(o.address for o in anvil.oracles))
    page.fill("#amount-0", "1000")
    page.click("#add")  # a second milestone, to be reached only partly
    page.fill("#title-1", "Recall >= 92%")
    page.fill("#amount-1", "500")
    page.fill("#bonus-1", "0")
    page.wait_for_selector(".curve svg")  # the payout curve, drawn from the terms as typed
    page.screenshot(path=SHOTS / "new-agreement.png", full_page=True)
    page.click("#create")
    page.wait_for_url("**/#/agreements/*")
    pk = page.url.rsplit("/", 1)[1]

    page.click("text=Consent with your wallet")
    page.wait_for_selector("text=Consent with your wallet", state="detached")
    sign_in_as(anvil.provider)
    page.goto(f"{url}/app/#/agreements/{pk}")
    page.click("text=Consent with your wallet")
    page.wait_for_selector(".badge.awaiting-funds")

    sign_in_as(anvil.client)
    page.goto(f"{url}/app/#/agreements/{pk}")
    wallet.refuse_next_transaction = True
    page.click("text=Fund the escrow")
    page.wait_for_selector("#progress .badge.failed")
    assert "rejected in the wallet" in page.inner_text("#progress")
    page.click("text=Fund the escrow")  # an ERC-20 approval, then the funding: each pending, then confirmed
    page.wait_for_selector("h1 .badge.in-progress", timeout=30_000)
    assert page.locator("#progress .badge.confirmed").count() == 2
    assert token.functions.balanceOf(anvil.escrow.address).call() == 1600 * UNIT

    token.functions.setBlocked(anvil.provider.address, True).transact(
        {"from": dev_party(0).address}
    )  # payments to it must be credited
    agreement = BackendClient(url).request(
        "GET", f"/v1/agreements/{pk}", headers=BackendClient(url).wallet(anvil.client.key)
    )
    reached = attest(anvil, url, agreement, 0, 9_400)
    partial = attest(anvil, url, agreement, 1, 8_600)  # below the target: settles only on the provider's acceptance
    anchor(anvil, url, [reached, partial])
    settled_count(page, 1)

    sign_in_as(anvil.provider)
    page.goto(f"{url}/app/#/agreements/{pk}")
    page.click("text=Accept the partial result (0.86 fraction)")  # an EIP-712 signature; the relayer settles
    page.wait_for_selector("text=Accepted: the relayer settles the partial payment.")
    settled_count(page, 2)
    page.screenshot(path=SHOTS / "agreement.png", full_page=True)

    page.locator("text=0.94 fraction").first.click()  # the latest attested value links to the attestation
    page.wait_for_selector("text=Evidence hash")
    assert "2 of the threshold 2" in page.inner_text(
        "main"
    ) and "the registry confirms the inclusion proof" in page.inner_text("main")
    page.screenshot(path=SHOTS / "attestation.png", full_page=True)

    page.goto(f"{url}/app/#/agreements/{pk}")
    page.wait_for_selector("#withdraw-to")
    elsewhere = dev_party(8).address
    page.fill("#withdraw-to", elsewhere)
    page.click("button:has-text('Withdraw')")
    page.wait_for_selector("#withdraw-to", state="detached", timeout=30_000)
    milestones = BackendClient(url).request(
        "GET", f"/v1/agreements/{pk}", headers=BackendClient(url).wallet(anvil.provider.key)
    )["milestones"]
    paid = sum(int(m["paid_now"]) for m in milestones)
    assert paid > 0 and token.functions.balanceOf(elsewhere).call() == paid  # both payments, credited, then withdrawn

    page.goto(f"{url}/app/#/")
    page.wait_for_selector("text=Fraud model in production")
    page.screenshot(path=SHOTS / "agreements.png", full_page=True)
    page.goto(f"{url}/app/#/portfolio")
    page.wait_for_selector("text=Completion rate")
    page.screenshot(path=SHOTS / "portfolio.png", full_page=True)

    auditor = browser.new_page()  # an auditor reads every agreement with an API key, no wallet
    key = BackendClient(url).request(
        "POST", "/v1/api-keys", json={"name": "audit-firm", "role": "auditor"}, headers={"X-API-Key": OPERATOR_KEY}
    )["key"]
    auditor.goto(f"{url}/app/")
    auditor.fill("#api-key", key)
    auditor.click("text=Read as an auditor")
    auditor.wait_for_selector("text=Fraud model in production")
    assert "Fraud model in production" in auditor.inner_text("main") and "audit-firm (API key)" in auditor.inner_text(
        "header"
    )
    auditor.screenshot(path=SHOTS / "auditor.png", full_page=True)

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.expose_function("__wallet", wallet.handle)
    phone.add_init_script(PROVIDER)
    phone.goto(f"{url}/app/")
    phone.click("#sign-in")
    phone.goto(f"{url}/app/#/agreements/{pk}")
    phone.wait_for_selector("h3")
    assert phone.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )  # nothing wider than the phone
    phone.screenshot(path=SHOTS / "agreement-phone.png", full_page=True)


def test_without_a_wallet_the_page_says_what_to_install(dashboard, browser):
    url, _ = dashboard
    page = browser.new_page()
    page.goto(url + "/app/")
    page.click("#sign-in")
    page.wait_for_selector("#toast p")
    assert "No wallet found: install a browser wallet" in page.inner_text("#toast")
