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
import time
from pathlib import Path

import factories
import pytest
from anvil_support import backend_on_anvil, push_attestation
from backend_support import OPERATOR_KEY
from eth_account import Account
from eth_account.messages import encode_defunct

from attestpay.contracts import deploy
from attestpay.devchain import dev_party
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
    token = deploy(anvil.w3, "BlocklistToken", sender=dev_party(0).address)
    token.functions.mint(anvil.client.address, 10**24).transact({"from": dev_party(0).address})
    with backend_on_anvil(
        anvil,
        tmp_path,
        ATTESTPAY_EXPLORER_URL="https://explorer.example/",
        ATTESTPAY_PRICES=json.dumps({token.address: {"peg": "0.92", "currency": "EUR"}}),
    ) as url:
        yield url, token


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


DESKTOP, PHONE = {"width": 1200, "height": 900}, {"width": 390, "height": 844}


def capture(page, name: str, url: str, ready: str, *shown: str) -> None:
    """The page at `url` at desktop and at phone width: `ready` appears, each of `shown` is visible in it,
    nothing is wider than the viewport; a screenshot of each goes to build/screenshots/."""
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page.set_viewport_size(size)
        if url:
            page.goto(url)
        page.wait_for_selector(ready)
        for text in shown:
            assert page.get_by_text(text, exact=False).first.is_visible(), (name, suffix, text)
        width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{name}{suffix}: {width[0]} px wide in a {width[1]} px viewport"
        page.evaluate("document.getElementById('toast').replaceChildren()")  # notices of earlier steps
        page.screenshot(path=SHOTS / f"{name}{suffix}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def sign_profile(url: str, party, fields: dict) -> None:
    """The party's wallet signs its first profile through the API (as the CLI does)."""
    api = BackendClient(url)
    body = {"fields": fields, "version": 1, "signed_at": int(time.time())}
    prepared = api.request("POST", "/v1/profiles/typed-data", json=body, headers=api.wallet(party.key))
    signature = Account.sign_typed_data(party.key, full_message=prepared).signature
    api.request(
        "POST", "/v1/profiles", json=body | {"signature": "0x" + signature.hex()}, headers=api.wallet(party.key)
    )


def test_parties_agree_fund_see_the_settlement_and_withdraw_in_the_browser(anvil, dashboard, browser):
    url, token = dashboard
    SHOTS.mkdir(parents=True, exist_ok=True)
    wallet = Wallet(anvil)
    page = browser.new_page(viewport=DESKTOP)
    page.expose_function("__wallet", wallet.handle)
    page.add_init_script(PROVIDER)

    def sign_in_as(party) -> None:
        wallet.party = party
        if page.locator("#sign-out").count():
            page.click("#sign-out")
        page.click("#sign-in")
        page.wait_for_selector("#sign-out")

    capture(page, "sign-in", url + "/app/", "#sign-in-main", "Sign in with your wallet", "Auditors")
    assert page.locator("nav a:visible").count() == 0  # nothing to navigate to before signing in
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
    page.goto(f"{url}/app/#/upcoming")  # what falls due, signed by the client's side: it pays
    page.wait_for_selector("#upcoming")
    due = page.locator("#upcoming tr", has_text="due: Fraud model in production, milestone 1").inner_text()
    assert "-1,000 BLK (bonus up to" in due and f"{time.gmtime().tm_year}-" in due
    page.goto(f"{url}/app/#/agreements/{pk}")

    token.functions.setBlocked(anvil.provider.address, True).transact(
        {"from": dev_party(0).address}
    )  # payments to it must be credited
    agreement = BackendClient(url).request(
        "GET", f"/v1/agreements/{pk}", headers=BackendClient(url).wallet(anvil.client.key)
    )
    reached = push_attestation(anvil, url, agreement, 0, 9_400)
    # below the target: settles only on the provider's acceptance
    partial = push_attestation(anvil, url, agreement, 1, 8_600)
    anchor(anvil, url, [reached, partial])
    settled_count(page, 1)

    sign_in_as(anvil.provider)
    page.goto(f"{url}/app/#/agreements/{pk}")
    button = page.locator("button", has_text="Accept the partial result (0.86 fraction)")
    assert "pays 337.5 BLK now" in button.inner_text()  # before signing: 50% + 600/1200 of the rest of 450
    button.click()  # an EIP-712 signature; the relayer settles
    page.wait_for_selector("text=Accepted: the relayer settles the partial payment.")
    settled_count(page, 2)
    assert page.locator('a[href^="https://explorer.example/tx/0x"]').count() >= 3  # every transaction links out
    page.once("dialog", lambda dialog: dialog.accept("Northwind Bank"))  # the address book, per wallet
    page.click('button[aria-label="Name the client in your address book"]')
    page.wait_for_selector("strong:has-text('Northwind Bank')")

    page.locator("text=0.94 fraction").first.click()  # the latest attested value links to the attestation
    page.wait_for_selector("text=Evidence hash")
    assert "2 of the threshold 2" in page.inner_text(
        "main"
    ) and "the registry confirms the inclusion proof" in page.inner_text("main")
    attestation_url = page.url

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

    # the provider's profile, signed in the wallet, then changed: both versions kept
    page.goto(f"{url}/app/#/profile")
    page.wait_for_selector("#profile")
    for field, value in (("legal_name", "Nordlicht AI GmbH"), ("street", "Torstrasse 1"), ("postcode", "10119"),
                         ("city", "Berlin"), ("country", "DE"), ("vat_id", "DE 136 695 976")):  # fmt: skip
        page.fill(f"#p-{field}", value)
    page.click("#save")
    page.wait_for_selector("#profile-history tbody tr")
    page.fill("#p-iban", "DE89 3704 0044 0532 0130 00")
    page.click("#save")
    page.wait_for_selector("#profile-history tbody tr:nth-child(2)")
    history = page.inner_text("#profile-history")
    assert "VAT DE136695976" in history and "IBAN DE89370400440532013000" in history
    assert page.input_value("#p-legal_name") == "Nordlicht AI GmbH"
    sign_profile(url, anvil.client, {"legal_name": "Lumen Retail SAS", "street": "1 rue de Rivoli", "city": "Paris",
                                     "postcode": "75001", "country": "FR", "vat_id": "FR40303265045"})  # fmt: skip

    # the invoices of both settlements, each downloadable as an e-invoice; the journal for a period
    page.goto(f"{url}/app/#/invoices")
    page.wait_for_selector("#invoices button[data-format=ubl]")
    assert page.locator("#invoices tbody tr").count() == 2
    with page.expect_download() as saved:
        page.locator("#invoices button[data-format=ubl]").first.click()
    ubl = Path(saved.value.path()).read_text()
    assert (
        saved.value.suggested_filename.endswith(".ubl.xml") and "Nordlicht AI GmbH" in ubl and "Lumen Retail SAS" in ubl
    )
    with page.expect_download() as saved:
        page.locator("#invoices button[data-format=facturx]").first.click()
    assert Path(saved.value.path()).read_bytes().startswith(b"%PDF")
    page.goto(f"{url}/app/#/journals")
    page.fill("#from", "2020-01-01")
    page.fill("#to", "2100-01-01")
    page.click("#show")
    page.wait_for_selector("#close")
    # the provider's payments were credited, then withdrawn to another address: none reached its wallet
    assert "the chain moved 0 BLK: does not tie" in page.inner_text("#close")
    assert page.locator("#entries tbody tr").count() >= 2 and "invoice " in page.inner_text("#entries")
    page.select_option("#format", "xero")
    with page.expect_download() as saved:
        page.click("#download")
    assert Path(saved.value.path()).read_text().startswith("*Narration,*Date")

    # every page at desktop and phone width, as the provider
    app = f"{url}/app/#"
    capture(page, "agreements", f"{app}/", "text=Fraud model in production", "Your agreements")
    capture(page, "new-agreement-empty", f"{app}/new", "#title", "Milestone 1")
    capture(page, "agreement", f"{app}/agreements/{pk}", "h3", "Northwind Bank", "Milestones")
    page.evaluate("document.getElementById('toast').replaceChildren()")
    page.click("#audit-pack")  # this backend keeps no evidence, so no pack: the API's reason, in words
    page.wait_for_selector("#toast p")
    assert "no evidence store (ATTESTPAY_EVIDENCE_DIR)" in page.inner_text("#toast")
    capture(page, "attestation", attestation_url, "text=Evidence hash", "2 of the threshold 2")
    capture(page, "portfolio", f"{app}/portfolio", "text=Completion rate", "Funds at risk", "upcoming dates")
    capture(page, "upcoming", f"{app}/upcoming", "#upcoming", "holdback released: Fraud model in production")
    assert "+" in page.locator("#upcoming tr", has_text="holdback released").first.inner_text()  # to the provider
    capture(page, "design", f"{app}/design", "#design", "Design a deal")
    capture(page, "profile", f"{app}/profile", "#profile-history", "Nordlicht AI GmbH")
    capture(
        page, "invoices", f"{app}/invoices", "#invoices button[data-format=cii]", "Factur-X PDF", "UBL XML", "CII XML"
    )
    page.goto(f"{app}/journals")
    page.fill("#from", "2020-01-01")
    page.click("#show")
    capture(page, "journals", None, "#entries", "Period close", "Download")

    auditor = browser.new_page(viewport=DESKTOP)  # an auditor reads every agreement with an API key, no wallet
    key = BackendClient(url).request(
        "POST", "/v1/api-keys", json={"name": "audit-firm", "role": "auditor"}, headers={"X-API-Key": OPERATOR_KEY}
    )["key"]
    auditor.goto(f"{url}/app/")
    auditor.fill("#api-key", key)
    auditor.click("text=Read as an auditor")
    auditor.wait_for_selector("text=Fraud model in production")
    assert "audit-firm (API key)" in auditor.inner_text("header")
    for link in ("#/new", "#/design", "#/profile"):  # an auditor drafts, designs and signs nothing
        assert auditor.locator(f'nav a[href="{link}"]').is_hidden()
    assert auditor.locator('nav a[href="#/invoices"]').is_visible()
    capture(auditor, "auditor", None, "text=Every agreement", "Fraud model in production", "independent audit report")
    capture(
        auditor,
        "auditor-invoices",
        f"{url}/app/#/invoices",
        "#invoices button[data-format=ubl]",
        "Fraud model in production",
    )


def test_without_a_wallet_the_page_says_what_to_install(dashboard, browser):
    url, _ = dashboard
    page = browser.new_page()
    page.goto(url + "/app/")
    page.click("#sign-in")
    page.wait_for_selector("#toast p")
    assert "No wallet found: install a browser wallet" in page.inner_text("#toast")


def test_a_metric_value_above_2_53_is_signed_exactly_through_the_browsers_json(anvil, dashboard, browser):
    """The API sends typed data with integers as decimal strings, so the page's JSON.parse keeps an
    18-decimal value exact up to eth_signTypedData_v4 and the relayer settles on the provider's
    acceptance (a bare JSON number would be rounded, and the API would refuse the signature)."""
    url, _ = dashboard
    api = BackendClient(url)
    big = 10**18
    body = factories.agreement_body(anvil, milestones=1)
    body["milestones"][0] |= {
        "spec": factories.ACCURACY_SPEC | {"decimals": 18},
        "floor": str(80 * big),
        "target": str(92 * big),
        "stretch": str(96 * big),
    }
    agreement = api.consented_agreement(body, anvil.client.key, anvil.provider.key)
    api.act(anvil.w3, anvil.client.key, f"/v1/agreements/{agreement['id']}/transactions/fund")
    value = 86 * big + 1  # rounds to 86 * 10^18 as a double
    anchor(anvil, url, [push_attestation(anvil, url, agreement, 0, value)])

    wallet = Wallet(anvil)
    wallet.party = anvil.provider
    page = browser.new_page()
    page.expose_function("__wallet", wallet.handle)
    page.add_init_script(PROVIDER)
    page.goto(url + "/app/")
    page.click("#sign-in")
    page.wait_for_selector("#sign-out")
    page.goto(f"{url}/app/#/agreements/{agreement['id']}")
    page.click("text=Accept the partial result")
    page.wait_for_selector("text=Accepted: the relayer settles the partial payment.")
    settled_count(page, 1)
    (milestone,) = api.request("GET", f"/v1/agreements/{agreement['id']}", headers=api.wallet(anvil.client.key))[
        "milestones"
    ]
    assert milestone["settled_value"] == str(value)
