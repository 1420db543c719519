"""The readable invoice (backend.domain.invoices): what a person reads is in token units with the
symbol, while the JSON keeps the exact base units the escrow paid."""

from __future__ import annotations

from attestpay.tokens import Token
from backend.domain.invoices import dispute_lines, for_people, render_html

MUSD = Token("0x" + "11" * 20, "mUSD", 6)


def test_a_dispute_split_names_the_clients_share_in_token_units_and_keeps_base_units():
    lines = dispute_lines(6_000, 12_000 * 10**6, 8_000_500_000)
    document = {
        "number": "AP-000007",
        "kind": "dispute",
        "agreement_id": "0x" + "22" * 32,
        "agreement_title": "Fraud model",
        "milestone_index": 1,
        "milestone_title": "Recall",
        "client": "0x" + "33" * 20,
        "provider": "0x" + "44" * 20,
        "token": MUSD.address,
        "issued_at": 1_800_000_000,
        "tx_hash": "0x" + "55" * 32,
        "lines": lines,
        "total": 12_000 * 10**6,
        "refund_to_client": 0,
    }
    shown = for_people(document, MUSD)
    (line,) = shown["lines"]
    assert line["item"] == "Dispute split: 60.00% to the provider (8,000.5 mUSD back to the client)"
    assert line["amount"] == 12_000 * 10**6 and line["amount_display"] == "12,000 mUSD"
    assert shown["refund_to_client"] == 8_000_500_000 and shown["refund_to_client_display"] == "8,000.5 mUSD"
    html = render_html(shown)
    assert "8,000.5 mUSD" in html and "8,000,500,000" not in html and "Refunded to the client" in html
