"""Double-entry journals of escrow activity, per party, in token base units and in fiat at the price
stored with each entry; exported in the CSV layouts Xero (manual journals) and QuickBooks Online
(journal entries) import. Pure: events in, entries and CSV text out.

Accrual basis (docs/finance.md): the provider books the whole net of a settlement as revenue, the
holdback as a receivable; the client expenses the same net when it settles and holds its deposit as
an asset ("funds in escrow") until then."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from attestpay import payout

CLIENT, PROVIDER = "client", "provider"


@dataclass(frozen=True)
class Account:
    code: str
    name: str


WALLET = Account("1220", "Crypto wallet")
ESCROW = Account("1230", "Funds in escrow")
HOLDBACK = Account("1240", "Holdback receivable")
REVENUE = Account("4000", "Revenue: outcome-based services")
PENALTY_GIVEN = Account("4010", "Late delivery penalties")
PENALTY_RECEIVED = Account("4900", "Late delivery penalty income")
EXPENSE = Account("6100", "Outcome-based services")


@dataclass(frozen=True)
class Posting:
    account: Account
    debit: int = 0  # token base units
    credit: int = 0


@dataclass(frozen=True)
class Entry:
    """One balanced journal entry: what happened to one party in one transaction."""

    party: str  # CLIENT, PROVIDER or the relayer's operator
    kind: str  # deposit settlement refund holdback-release dispute-split gas
    at: int  # block time, unix seconds
    tx_hash: str
    token: str
    symbol: str
    decimals: int
    price: Decimal  # fiat per whole token at the entry's block
    currency: str  # ISO 4217 of the price
    narration: str
    postings: tuple[Posting, ...]
    invoice_number: str | None = None

    def __post_init__(self) -> None:
        debits = sum(p.debit for p in self.postings)
        credits = sum(p.credit for p in self.postings)
        if debits != credits:
            raise ValueError(f"unbalanced entry {self.kind} {self.tx_hash}: {debits} != {credits}")

    def fiat(self) -> list[tuple[Posting, Decimal, Decimal]]:
        """Each posting's debit and credit in fiat, to the cent; the rounding difference, if any, goes to
        the largest posting on the short side, so that fiat debits equal fiat credits as units do."""
        scale = self.price / Decimal(10) ** self.decimals
        rows = [[p, _cents(p.debit * scale), _cents(p.credit * scale)] for p in self.postings]
        gap = sum(r[1] for r in rows) - sum(r[2] for r in rows)
        if gap:
            side = 2 if gap > 0 else 1
            largest = max((r for r in rows if r[side]), key=lambda r: r[side])
            largest[side] += abs(gap)
        return [(p, d, c) for p, d, c in rows]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Context:
    """What every entry of one agreement shares."""

    title: str
    token: str
    symbol: str
    decimals: int
    currency: str


@dataclass(frozen=True)
class Occasion:
    """What every entry of one transaction shares: the agreement's context, the block time, the
    transaction and the fiat price at its block."""

    ctx: Context
    at: int
    tx_hash: str
    price: Decimal


@dataclass
class Ledger:
    entries: list[Entry] = field(default_factory=list)

    def add(self, on: Occasion, party: str, kind: str, note: str, *postings, invoice: str | None = None) -> None:
        ctx = on.ctx
        self.entries.append(
            Entry(
                party,
                kind,
                on.at,
                on.tx_hash,
                ctx.token,
                ctx.symbol,
                ctx.decimals,
                on.price,
                ctx.currency,
                f"{ctx.title}: {note}",
                tuple(p for p in postings if p.debit or p.credit),
                invoice,
            )
        )

    def _both_parties(
        self, on: Occasion, kind: str, note: str, provider: tuple, client: tuple, invoice: str | None
    ) -> None:
        """An event both parties book: the provider's entry, then the client's."""
        for party, postings in ((PROVIDER, provider), (CLIENT, client)):
            self.add(on, party, kind, note, *postings, invoice=invoice)

    def deposit(self, on: Occasion, amount: int) -> None:
        postings = Posting(ESCROW, debit=amount), Posting(WALLET, credit=amount)
        self.add(on, CLIENT, "deposit", "deposit into escrow", *postings)

    def settlement(
        self,
        on: Occasion,
        *,
        milestone: str,
        gross: int,
        penalty: int,
        paid_now: int,
        holdback: int,
        refund: int,
        invoice: str | None,
    ) -> None:
        net = paid_now + holdback
        assert gross - penalty == net
        provider = (
            Posting(WALLET, debit=paid_now),
            Posting(HOLDBACK, debit=holdback),
            Posting(PENALTY_GIVEN, debit=penalty),
            Posting(REVENUE, credit=gross),
        )
        client = (
            Posting(EXPENSE, debit=gross),
            Posting(WALLET, debit=refund),
            Posting(ESCROW, credit=net + refund),
            Posting(PENALTY_RECEIVED, credit=penalty),
        )
        self._both_parties(on, "settlement", f"{milestone} settled", provider, client, invoice)

    def refund(self, on: Occasion, *, milestone: str, amount: int) -> None:
        postings = Posting(WALLET, debit=amount), Posting(ESCROW, credit=amount)
        self.add(on, CLIENT, "refund", f"{milestone} reclaimed unsettled", *postings)

    def holdback_release(self, on: Occasion, *, milestone: str, amount: int, invoice: str | None) -> None:
        postings = Posting(WALLET, debit=amount), Posting(HOLDBACK, credit=amount)
        self.add(on, PROVIDER, "holdback-release", f"{milestone} holdback released", *postings, invoice=invoice)

    def dispute_split(
        self, on: Occasion, *, milestone: str, on_holdback: bool, to_provider: int, to_client: int, invoice: str | None
    ) -> None:
        """A split of an unsettled milestone is revenue and expense; of a holdback, the provider's
        receivable is settled and what goes back to the client reverses part of the revenue."""
        note = f"{milestone} {'holdback ' if on_holdback else ''}dispute resolved"
        disputed = to_provider + to_client
        if on_holdback:
            provider = (
                Posting(WALLET, debit=to_provider),
                Posting(REVENUE, debit=to_client),
                Posting(HOLDBACK, credit=disputed),
            )
            client = (Posting(WALLET, debit=to_client), Posting(EXPENSE, credit=to_client))
        else:
            provider = (Posting(WALLET, debit=to_provider), Posting(REVENUE, credit=to_provider))
            client = (
                Posting(EXPENSE, debit=to_provider),
                Posting(WALLET, debit=to_client),
                Posting(ESCROW, credit=disputed),
            )
        self._both_parties(on, "dispute-split", note, provider, client, invoice)

    def for_party(self, party: str, start: int, end: int) -> list[Entry]:
        """The party's entries with start <= block time < end, in order."""
        return [e for e in self.entries if e.party == party and start <= e.at < end]


def wallet_movements(entries: list[Entry]) -> dict[str, int]:
    """Net units into the party's wallet per token: what the chain's transfers must show (the period
    close ties the journal to the chain with this)."""
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        for p in entry.postings:
            if p.account == WALLET:
                totals[entry.token] += p.debit - p.credit
    return dict(totals)


def _day(ts: int, layout: str) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(layout)


XERO_COLUMNS = [
    "*Narration",
    "*Date",
    "Description",
    "*AccountCode",
    "*TaxRate",
    "*Amount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
]
QBO_COLUMNS = [
    "Journal No",
    "Journal Date",
    "Currency",
    "Memo",
    "Account Name",
    "Debits",
    "Credits",
    "Description",
    "Name",
    "Location",
    "Class",
]


def xero_csv(entries: list[Entry]) -> str:
    """Xero's manual journal import template: debits positive, credits negative, dates dd/mm/yyyy."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(XERO_COLUMNS)
    for entry in entries:
        for posting, debit, credit in entry.fiat():
            writer.writerow(
                [
                    entry.narration,
                    _day(entry.at, "%d/%m/%Y"),
                    _description(entry, posting),
                    posting.account.code,
                    "Tax Exempt",
                    f"{debit - credit:.2f}",
                    "Token",
                    entry.symbol,
                    "Transaction",
                    entry.tx_hash,
                ]
            )
    return out.getvalue()


def quickbooks_csv(entries: list[Entry]) -> str:
    """QuickBooks Online's journal entry import: one journal number per entry, dates mm/dd/yyyy."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(QBO_COLUMNS)
    for number, entry in enumerate(entries, 1):
        for posting, debit, credit in entry.fiat():
            writer.writerow(
                [
                    f"AP-J{number}",
                    _day(entry.at, "%m/%d/%Y"),
                    entry.currency,
                    entry.narration,
                    posting.account.name,
                    f"{debit:.2f}" if debit else "",
                    f"{credit:.2f}" if credit else "",
                    _description(entry, posting),
                    "",
                    "",
                    "",
                ]
            )
    return out.getvalue()


def _description(entry: Entry, posting: Posting) -> str:
    units = posting.debit or posting.credit
    amount = Decimal(units) / Decimal(10) ** entry.decimals
    invoice = f", invoice {entry.invoice_number}" if entry.invoice_number else ""
    return f"{amount:,f} {entry.symbol} at {entry.price} {entry.currency}; tx {entry.tx_hash}{invoice}"


@dataclass(frozen=True)
class ChainFact:
    """An escrow event of one agreement as the journal reads it (the indexer's chain_events row)."""

    name: str
    args: dict
    block_number: int
    block_time: int
    tx_hash: str


def from_events(
    ctx: Context,
    facts: list[ChainFact],
    milestones: list,
    titles: list[str],
    price_at,
    invoices: dict[str, str] | None = None,
) -> Ledger:
    """The ledger of one agreement from its escrow events in chain order. `milestones` are the
    attestpay.terms.Milestone terms (to split a settlement into gross and penalty with the one payout
    rule); `price_at(block)` gives the fiat price; `invoices` maps a tx hash to its invoice number."""
    ledger, invoices = Ledger(), invoices or {}
    for f in facts:
        a, invoice = f.args, invoices.get(f.tx_hash)
        on = Occasion(ctx, f.block_time, f.tx_hash, price_at(f.block_number))
        name = titles[int(a["index"])] if "index" in a else ""
        if f.name == "AgreementFunded":
            ledger.deposit(on, int(a["amount"]))
        elif f.name == "MilestoneSettled":
            figures = payout.compute(milestones[int(a["index"])], int(a["value"]), int(a["observedAt"]))
            ledger.settlement(
                on,
                milestone=name,
                gross=figures.base + figures.bonus_earned,
                penalty=figures.penalty,
                paid_now=int(a["paidNow"]),
                holdback=int(a["holdback"]),
                refund=int(a["refund"]),
                invoice=invoice,
            )
        elif f.name == "MilestoneReclaimed":
            ledger.refund(on, milestone=name, amount=int(a["amount"]))
        elif f.name == "HoldbackReleased":
            ledger.holdback_release(on, milestone=name, amount=int(a["amount"]), invoice=invoice)
        elif f.name == "DisputeResolved":
            ledger.dispute_split(
                on,
                milestone=name,
                on_holdback=bool(a["holdback"]),
                to_provider=int(a["toProvider"]),
                to_client=int(a["toClient"]),
                invoice=invoice,
            )
    return ledger


def as_json(entry: Entry) -> dict:
    """An entry with exact base units beside the fiat figures."""
    return {
        "party": entry.party,
        "kind": entry.kind,
        "at": entry.at,
        "date": _day(entry.at, "%Y-%m-%d"),
        "tx_hash": entry.tx_hash,
        "invoice": entry.invoice_number,
        "narration": entry.narration,
        "token": entry.token,
        "symbol": entry.symbol,
        "price": str(entry.price),
        "currency": entry.currency,
        "postings": [
            {
                "account": p.account.code,
                "name": p.account.name,
                "debit": str(p.debit),
                "credit": str(p.credit),
                "debit_fiat": str(d),
                "credit_fiat": str(c),
            }
            for p, d, c in entry.fiat()
        ],
    }
