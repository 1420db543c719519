"""E-invoices through the API on the real escrow: an ERC-20 agreement between an EU provider and a client in
another EU state, settled late with a holdback; the settlement's CII, UBL and Factur-X pass EN 16931,
name both parties' legal profiles and the fiat value at the settlement block, and stay frozen when a
profile changes; the holdback release is a payment against that invoice, not a second invoice."""

from __future__ import annotations

import time
from decimal import Decimal

from eth_account import Account
from factories import DAY, agreement_body
from facturx import get_xml_from_pdf

from attestpay_cli.demo.documents import CLIENT, CLIENT_DE, PROVIDER
from backend.domain.en16931_validation import validate


def _profile(api, party, session, fields, version=1):
    body = {"fields": fields, "version": version, "signed_at": int(time.time())}
    typed = api.client.post("/v1/profiles/typed-data", json=body, headers=session).json()
    signature = "0x" + Account.sign_typed_data(party.key, full_message=typed).signature.hex()
    saved = api.client.post("/v1/profiles", json={**body, "signature": signature}, headers=session)
    assert saved.status_code == 201, saved.text


def _settlement_invoice(api, agreement: dict, client: dict) -> str:
    """The client funds a one-milestone agreement and settles it on a 97.00% result: the invoice's number."""
    chain, pk = api.chain, agreement["id"]
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    pushed = api.push(api.api_key("node", "oracle"), agreement, 0, 9700, chain.oracles[:2])
    api.settle(chain.client, client, pk, 0, pushed["digest"])
    (number,) = api.client.get(f"/v1/agreements/{pk}/invoices", headers=client).json()
    return number


def test_a_late_settlement_with_a_holdback_gives_valid_frozen_e_invoices(chain, database_url):
    from backend_support import Api

    prices = f'{{"{chain.token.address}": {{"peg": "0.92", "currency": "EUR"}}}}'
    api = Api(chain, database_url, prices=prices)
    body = agreement_body(chain, token=chain.token.address, milestones=1)
    body["milestones"][0] |= {"holdback_bps": 1000, "holdback_period": 10 * DAY, "deadline": chain.now() + DAY}
    agreement, client, provider = api.consented(body)
    _profile(api, chain.provider, provider, PROVIDER)
    _profile(api, chain.client, client, CLIENT)
    pk = agreement["id"]
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    chain.warp(chain.now() + 3 * DAY)
    pushed = api.push(api.api_key("node", "oracle"), agreement, 0, 9700, chain.oracles[:2])
    api.settle(chain.client, client, pk, 0, pushed["digest"])
    (number,) = api.client.get(f"/v1/agreements/{pk}/invoices", headers=provider).json()
    assert number == f"AP-{chain.provider.address[2:10].upper()}-000001"  # the provider's own series

    cii = api.client.get(f"/v1/invoices/{number}/cii", headers=client)
    assert cii.status_code == 200, cii.text
    validate(cii.content)
    ubl = api.client.get(f"/v1/invoices/{number}/ubl", headers=provider).content
    validate(ubl)
    assert b"<cbc:ID>AE</cbc:ID>" in ubl  # DE to FR between VAT-registered businesses: reverse charge
    assert b"Nordlicht AI GmbH" in cii.content and b"Lumen Retail SAS" in cii.content
    m = api.client.get(f"/v1/agreements/{pk}", headers=client).json()["milestones"][0]
    paid_eur = (Decimal(m["paid_now"]) / 10**18 * Decimal("0.92")).quantize(Decimal("0.01"))
    assert f"<ram:TotalPrepaidAmount>{paid_eur}</ram:TotalPrepaidAmount>".encode() in cii.content
    assert b"<ram:ReasonCode>95</ram:ReasonCode>" in cii.content  # the late penalty as an allowance
    assert b"DueDateDateTime" in cii.content  # the holdback falls due at the warranty's end

    pdf = api.client.get(f"/v1/invoices/{number}/facturx", headers=client)
    assert pdf.headers["content-type"] == "application/pdf"
    _, embedded = get_xml_from_pdf(pdf.content, check_xsd=False)
    assert embedded == cii.content

    _profile(api, chain.provider, provider, {**PROVIDER, "legal_name": "Nordlicht AI SE"}, version=2)
    assert api.client.get(f"/v1/invoices/{number}/cii", headers=client).content == cii.content  # frozen

    chain.warp(chain.now() + 11 * DAY)
    release = api.client.post(f"/v1/agreements/{pk}/transactions/release-holdback", json={"index": 0}, headers=provider)
    api.send_all(chain.provider, release)
    numbers = api.client.get(f"/v1/agreements/{pk}/invoices", headers=provider).json()
    assert numbers[1] == f"{number}-P"  # a payment against the invoice takes no number of the series
    refused = api.client.get(f"/v1/invoices/{numbers[1]}/ubl", headers=provider)
    assert refused.status_code == 409 and number in refused.json()["detail"]

    period = {"from": "2020-01-01", "to": "2100-01-01"}
    book = api.client.get("/v1/reports/journal", params=period, headers=provider).json()
    assert [(e["kind"], e["invoice"]) for e in book["entries"]] == [
        ("settlement", number),
        ("holdback-release", numbers[1]),
    ]
    assert book["close"] == {
        chain.token.address: {
            "journal": str(110 * 10**18 - int(m["refund"])),
            "chain": str(110 * 10**18 - int(m["refund"])),
            "ties": True,
        }
    }
    client_book = api.client.get("/v1/reports/journal", params=period, headers=client).json()
    assert [e["kind"] for e in client_book["entries"]] == ["deposit", "settlement"]
    assert all(c["ties"] for c in client_book["close"].values())
    xero = api.client.get("/v1/reports/journal", params={**period, "format": "xero"}, headers=provider)
    assert xero.headers["content-type"].startswith("text/csv") and xero.text.startswith("*Narration,*Date")
    others = api.client.get("/v1/reports/journal", params={**period, "wallet": chain.client.address}, headers=provider)
    assert others.status_code == 403


def test_an_invoice_without_the_parties_profiles_says_what_to_do(chain, database_url):
    from backend_support import Api

    api = Api(chain, database_url, prices='{"ETH": {"peg": "2500", "currency": "EUR"}}')
    agreement, client, provider = api.consented(agreement_body(chain, milestones=1))
    number = _settlement_invoice(api, agreement, client)
    answer = api.client.get(f"/v1/invoices/{number}/cii", headers=client)
    assert answer.status_code == 409 and "POST /v1/profiles" in answer.json()["detail"]


def test_the_agreed_vat_treatment_is_hashed_into_the_terms_refused_against_the_profiles_and_invoiced(
    chain, database_url
):
    from backend_support import Api

    api = Api(chain, database_url, prices='{"ETH": {"peg": "2500", "currency": "EUR"}}')
    client, provider = api.sign_in(chain.client), api.sign_in(chain.provider)
    _profile(api, chain.provider, provider, PROVIDER)  # Germany
    _profile(api, chain.client, client, CLIENT_DE)  # Germany too
    body = agreement_body(chain, milestones=1)
    for vat, reason in (
        ({"category": "AE"}, "reverse charge is between businesses in two different EU states"),
        ({"category": "O"}, "both are in the EU"),
    ):
        refused = api.client.post("/v1/agreements", json=body | {"vat": vat}, headers=client)
        assert refused.status_code == 422 and reason in refused.text, refused.text
    bad_rate = api.client.post("/v1/agreements", json=body | {"vat": {"category": "AE", "rate": "5"}}, headers=client)
    assert bad_rate.status_code == 422 and "a rate goes with category S" in bad_rate.text

    _profile(api, chain.client, client, CLIENT, version=2)  # the client is the French company again
    auto = api.client.post("/v1/agreements", json=body | {"vat": {"category": "auto"}}, headers=client).json()
    plain = api.client.post("/v1/agreements", json=body, headers=client).json()
    assert auto["vat"] is None and auto["docs_hash"] == plain["docs_hash"]  # auto hashes as before
    agreed = body | {"title": "Fraud model, German VAT", "vat": {"category": "S", "rate": "19.00"}}
    agreement, client, provider = api.consented(agreed)
    assert agreement["vat"] == {"category": "S", "rate": "19"} and agreement["docs_hash"] != plain["docs_hash"]
    number = _settlement_invoice(api, agreement, client)
    cii = api.client.get(f"/v1/invoices/{number}/cii", headers=client)
    assert cii.status_code == 200, cii.text
    validate(cii.content)  # standard rated across the border, as agreed, not the profiles' reverse charge
    assert b"<ram:CategoryCode>S</ram:CategoryCode>" in cii.content
    assert b"<ram:RateApplicablePercent>19</ram:RateApplicablePercent>" in cii.content


def test_a_credit_note_takes_the_next_number_of_the_series_and_a_holdback_paid_out_takes_none(chain, database_url):
    from backend_support import Api

    prices = f'{{"{chain.token.address}": {{"peg": "0.92", "currency": "EUR"}}}}'
    api = Api(chain, database_url, prices=prices)
    body = agreement_body(chain, token=chain.token.address, milestones=2)
    for m in body["milestones"]:
        m |= {"holdback_bps": 2000, "holdback_period": 10 * DAY}
    agreement, client, provider = api.consented(body)
    _profile(api, chain.provider, provider, PROVIDER)
    _profile(api, chain.client, client, CLIENT)
    pk, oracle = agreement["id"], api.api_key("node", "oracle")
    api.send_all(chain.client, api.client.post(f"/v1/agreements/{pk}/transactions/fund", headers=client))
    for index in (0, 1):
        pushed = api.push(oracle, agreement, index, 9700, chain.oracles[:2])
        api.settle(chain.client, client, pk, index, pushed["digest"])
    arbiter = api.sign_in(chain.arbiter)
    for index, share in ((0, 4000), (1, 10_000)):  # the provider keeps 40% of one holdback, all of the other
        opened = api.client.post(f"/v1/agreements/{pk}/transactions/dispute", json={"index": index}, headers=client)
        api.send_all(chain.client, opened)
        split = {"index": index, "holdback": True, "provider_share_bps": share}
        api.send_all(
            chain.arbiter,
            api.client.post(f"/v1/agreements/{pk}/transactions/resolve-dispute", json=split, headers=arbiter),
        )
    series = f"AP-{chain.provider.address[2:10].upper()}"
    numbers = api.client.get(f"/v1/agreements/{pk}/invoices", headers=client).json()
    assert numbers == [f"{series}-000001", f"{series}-000002", f"{series}-000003", f"{series}-000002-P"]

    credit_note = api.client.get(f"/v1/invoices/{series}-000003/ubl", headers=client)
    assert credit_note.status_code == 200, credit_note.text
    validate(credit_note.content)
    assert b"<CreditNote" in credit_note.content and f"<cbc:ID>{series}-000001</cbc:ID>".encode() in credit_note.content
    paid_out = api.client.get(f"/v1/invoices/{series}-000002-P/ubl", headers=client)
    assert paid_out.status_code == 409 and f"{series}-000002" in paid_out.json()["detail"]
