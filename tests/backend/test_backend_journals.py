"""Accounting journals: every entry balances in units and in fiat; a real lifecycle on the embedded chain
(late settlement with a penalty, a holdback released, a reclaim) books per party, and the period close
ties each party's wallet postings to the token's own Transfer logs."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from factories import DAY, create_and_fund, milestone, send, terms
from web3 import Web3
from web3.logs import DISCARD

from attestpay import payout, settlement, typed_data
from attestpay.terms import Attestation
from backend.domain import journals as j

CTX = j.Context("AI implementation", "0xToken", "mUSD", 18, "EUR")
PRICE = Decimal("0.9225")


def _settle(chain, agreement, ms, index: int, value: int):
    m = ms[index]
    att = Attestation(
        typed_data.terms_hash(agreement),
        index,
        m.metric_id,
        value,
        chain.now(),
        Web3.keccak(text=f"e{index}"),
        chain.now() + DAY,
    )
    digest = typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
    sigs = typed_data.pack_signatures([(o.address, typed_data.sign(o.key, digest)) for o in chain.oracles[:2]])
    proof = typed_data.milestone_proof(ms, index)
    call = chain.escrow.functions.settleMilestonePacked(settlement.pack(agreement, m, proof, att, sigs))
    return send(chain, call, chain.relayer.address)


def _facts(chain, receipts) -> list[j.ChainFact]:
    facts = []
    for receipt in receipts:
        block = chain.w3.eth.get_block(receipt["blockNumber"])
        for event_type in ("AgreementFunded", "MilestoneSettled", "HoldbackReleased", "MilestoneReclaimed"):
            for event in getattr(chain.escrow.events, event_type)().process_receipt(receipt, errors=DISCARD):
                facts.append(
                    j.ChainFact(
                        event.event,
                        dict(event.args),
                        receipt["blockNumber"],
                        block["timestamp"],
                        receipt["transactionHash"].to_0x_hex(),
                    )
                )
    return facts


def _transfers(chain, party: str, receipts) -> int:
    """Net token units into `party` in these transactions, from the token's own Transfer logs."""
    net = 0
    for receipt in receipts:
        for t in chain.token.events.Transfer().process_receipt(receipt, errors=DISCARD):
            net += (t.args.to == party) * t.args.value - (t.args["from"] == party) * t.args.value
    return net


def test_a_lifecycle_books_balanced_entries_per_party_that_tie_out_to_the_chain(chain):
    ms = [
        milestone(chain, deadline=chain.now() + DAY),  # settled 3 days late: 3% penalty
        milestone(chain, holdback_bps=1000, holdback_period=30 * DAY),  # 10% held, released
        milestone(chain, deadline=chain.now() + 5 * DAY),  # never attested: reclaimed
    ]
    agreement = terms(chain, chain.token.address, ms, threshold=2)
    fund_block = chain.w3.eth.block_number + 1
    create_and_fund(chain, agreement, ms)
    receipts = [chain.w3.eth.get_transaction_receipt(chain.w3.eth.get_block(fund_block)["transactions"][0])]
    chain.warp(ms[0].deadline + 2 * DAY + 1)  # observed 2-3 days late
    receipts.append(_settle(chain, agreement, ms, 0, 9700))
    receipts.append(_settle(chain, agreement, ms, 1, 9400))
    chain.warp(ms[2].deadline + agreement.cure_window + 1)
    reclaim = chain.escrow.functions.reclaim(
        typed_data.terms_hash(agreement), agreement.as_abi(), 2, ms[2].as_abi(), typed_data.milestone_proof(ms, 2)
    )
    receipts.append(send(chain, reclaim, chain.client.address))
    chain.warp(chain.now() + 31 * DAY)
    release = chain.escrow.functions.releaseHoldback(typed_data.terms_hash(agreement), agreement.as_abi(), 1)
    receipts.append(send(chain, release, chain.relayer.address))

    facts = _facts(chain, receipts)
    ledger = j.from_events(CTX, facts, ms, ["M1", "M2", "M3"], lambda block: PRICE)
    settled = next(f.args for f in facts if f.name == "MilestoneSettled")
    late = payout.compute(ms[0], 9700, settled["observedAt"])
    assert late.penalty > 0
    kinds = [(e.party, e.kind) for e in ledger.entries]
    assert kinds == [
        ("client", "deposit"),
        ("provider", "settlement"),
        ("client", "settlement"),
        ("provider", "settlement"),
        ("client", "settlement"),
        ("client", "refund"),
        ("provider", "holdback-release"),
    ]
    provider_settlement = ledger.entries[1]
    assert {p.account: (p.debit, p.credit) for p in provider_settlement.postings}[j.PENALTY_GIVEN] == (late.penalty, 0)
    for entry in ledger.entries:
        fiat = entry.fiat()
        assert sum(d for _, d, _ in fiat) == sum(c for _, _, c in fiat)

    everything = (0, 2**63)
    for party, address in ((j.CLIENT, chain.client.address), (j.PROVIDER, chain.provider.address)):
        booked = j.wallet_movements(ledger.for_party(party, *everything)).get(CTX.token, 0)
        assert booked == _transfers(chain, address, receipts) != 0
    held = sum(p.debit - p.credit for e in ledger.entries for p in e.postings if p.account == j.HOLDBACK)
    assert held == 0  # the released holdback cleared the receivable
    in_escrow = sum(p.debit - p.credit for e in ledger.entries for p in e.postings if p.account == j.ESCROW)
    assert in_escrow == 0  # every milestone is final: nothing of the client's is left in escrow


def test_an_unbalanced_entry_is_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        j.Entry(
            "client",
            "deposit",
            0,
            "0x1",
            "t",
            "mUSD",
            18,
            PRICE,
            "EUR",
            "x",
            (j.Posting(j.ESCROW, debit=2), j.Posting(j.WALLET, credit=1)),
        )


@pytest.mark.parametrize("on_holdback", [False, True])
def test_dispute_splits_balance_for_both_parties(on_holdback):
    ledger = j.Ledger()
    ledger.dispute_split(
        j.Occasion(CTX, 1_800_000_000, "0xabc", PRICE),
        milestone="M1",
        on_holdback=on_holdback,
        to_provider=70 * 10**18,
        to_client=30 * 10**18,
        invoice="AP-7",
    )
    assert [e.party for e in ledger.entries] == ["provider", "client"]
    assert j.wallet_movements(ledger.for_party("provider", 0, 2**63)) == {"0xToken": 70 * 10**18}
    assert j.wallet_movements(ledger.for_party("client", 0, 2**63)) == {"0xToken": 30 * 10**18}


def test_rounding_to_the_cent_keeps_fiat_debits_equal_to_credits():
    entry = j.Entry(
        "client",
        "settlement",
        0,
        "0x1",
        "t",
        "mUSD",
        18,
        Decimal("0.333333"),
        "EUR",
        "x",
        (
            j.Posting(j.EXPENSE, debit=10**18 + 1),
            j.Posting(j.WALLET, debit=2 * 10**18 + 1),
            j.Posting(j.ESCROW, credit=3 * 10**18 + 2),
        ),
    )
    rows = entry.fiat()
    assert sum(d for _, d, _ in rows) == sum(c for _, _, c in rows) == Decimal("1.00")


def test_xero_and_quickbooks_csv_use_their_import_templates():
    ledger = j.Ledger()
    ledger.deposit(j.Occasion(CTX, 1_800_000_000, "0xabc", PRICE), 110 * 10**18)
    xero = list(csv.DictReader(io.StringIO(j.xero_csv(ledger.entries))))
    assert [row["*AccountCode"] for row in xero] == ["1230", "1220"]
    assert [row["*Amount"] for row in xero] == ["101.48", "-101.48"]
    assert xero[0]["*Date"] == "15/01/2027"
    qbo = list(csv.DictReader(io.StringIO(j.quickbooks_csv(ledger.entries))))
    assert list(qbo[0]) == j.QBO_COLUMNS
    assert [(row["Account Name"], row["Debits"], row["Credits"]) for row in qbo] == [
        ("Funds in escrow", "101.48", ""),
        ("Crypto wallet", "", "101.48"),
    ]
    assert qbo[0]["Journal Date"] == "01/15/2027"
