"""The dashboard's Design page in Chromium: each of the four example designs checked, simulated and
compared (findings, payout curves, outcome bands, cash flow, the structures' table), the canvas
report opened, then the terms proposed to the counterparty as a draft with nothing private in it."""

from __future__ import annotations

import json

import pytest
from test_browser import PROVIDER, SHOTS, Wallet, browser, dashboard  # noqa: F401  (the browser suite's fixtures)

from backend.client import BackendClient

pytestmark = pytest.mark.browser
EXAMPLES = ("AI implementation", "SaaS onboarding", "Marketing agency", "Custom software")


def test_the_four_examples_check_simulate_compare_and_propose_in_the_browser(anvil, dashboard, browser):  # noqa: F811
    url, token = dashboard
    SHOTS.mkdir(parents=True, exist_ok=True)
    wallet = Wallet(anvil)
    wallet.party = anvil.provider
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.expose_function("__wallet", wallet.handle)
    page.add_init_script(PROVIDER)
    page.goto(url + "/app/")
    page.click("#sign-in")
    page.wait_for_selector("#sign-out")
    page.goto(url + "/app/#/design")
    page.wait_for_selector("#design")

    for name in EXAMPLES:
        page.select_option("#example", name)
        design = json.loads(page.input_value("#design"))
        assert design["provider"] == anvil.provider.address  # you design as the provider
        design |= {
            "client": anvil.client.address,
            "arbiter": anvil.arbiter.address,
            "oracles": [o.address for o in anvil.oracles],
        }
        if design["token"]:
            design["token"] = token.address
        page.fill("#design", json.dumps(design))
        page.fill("#draws", "1000")
        page.click("#evaluate")
        page.wait_for_selector("#structures tbody tr")
        assert page.locator(".design-milestone").count() == len(design["milestones"])
        assert page.locator(".design-milestone svg.chart").count() == 2 * len(design["milestones"])  # curve and bands
        assert page.locator("#totals svg.chart").count() == 2  # cash flow and capital locked
        structures = page.inner_text("#structures")
        assert "flat fee" in structures and "pure milestones" in structures
        assert page.inner_text("#findings").strip()
        page.screenshot(path=SHOTS / f"design-{name.split()[0].lower()}.png", full_page=True)

    page.fill("#design", "{ not json")
    page.click("#evaluate")
    page.wait_for_selector("#design-error:not(:empty)")

    page.select_option("#example", "AI implementation")
    design = json.loads(page.input_value("#design")) | {
        "client": anvil.client.address,
        "arbiter": anvil.arbiter.address,
        "oracles": [o.address for o in anvil.oracles],
        "token": token.address,
    }
    page.fill("#design", json.dumps(design))
    page.fill("#draws", "1000")
    page.click("#evaluate")
    page.wait_for_selector("#structures tbody tr")
    assert "data engineers" not in page.inner_text("#results")  # costs are summed, never itemised on screen
    with page.expect_popup() as popup:
        page.click("#report")
    popup.value.wait_for_selector("text=6. Costs and risk allocation")
    page.click("#propose")
    page.wait_for_url("**/#/agreements/*")
    pk = page.url.rsplit("/", 1)[1]
    page.wait_for_selector(".badge.awaiting-consent")

    client = BackendClient(url)
    proposed = client.request("GET", f"/v1/agreements/{pk}", headers=client.wallet(anvil.provider.key))
    assert proposed["status"] == "proposed" and proposed["title"] == design["title"]
    assert [m["amount"] for m in proposed["milestones"]] == [str(x * 10**18) for x in (20_000, 50_000, 30_000)]
    assert "costs" not in json.dumps(proposed) and "forecast" not in json.dumps(proposed)
