"""A wallet's accounting journal for a period, from the indexer's escrow events of its agreements, priced
at each event's block; and the period close that ties it to the chain (ERC-20 Transfer logs between the
escrow and the wallet; for ether, which moves in internal calls without logs, the escrow's events)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from attestpay import pricing
from attestpay.terms import ETH
from backend.chain import ChainGateway
from backend.db.models import Agreement, ChainEvent, Invoice
from backend.domain import journals
from backend.domain.terms import milestone_terms
from backend.errors import Conflict

TRANSFER = Web3.keccak(text="Transfer(address,address,uint256)").to_0x_hex()


def journal(
    session: Session, chain: ChainGateway, sources, wallet: str, agreements: list[Agreement], start: int, end: int
) -> list[journals.Entry]:
    """The entries of `wallet` (as client or provider of each agreement) with start <= time < end."""
    entries = []
    for agreement in agreements:
        role = (
            journals.CLIENT
            if agreement.client == wallet
            else journals.PROVIDER
            if agreement.provider == wallet
            else None
        )
        if role is None or agreement.agreement_id is None:
            continue
        ledger = _ledger(session, chain, sources, agreement)
        entries.extend(ledger.for_party(role, start, end))
    return sorted(entries, key=lambda e: (e.at, e.tx_hash))


def close(
    chain: ChainGateway, escrow: str, wallet: str, entries: list[journals.Entry], start_block: int, end_block: int
) -> dict:
    """Per token: what the journal booked into the wallet against what the chain moved, and whether they tie."""
    booked = journals.wallet_movements(entries)
    result = {}
    for token, amount in booked.items():
        moved = amount if int(token, 16) == 0 else _erc20_net(chain, token, escrow, wallet, start_block, end_block)
        result[token] = {"journal": str(amount), "chain": str(moved), "ties": amount == moved}
    return result


def _ledger(session: Session, chain: ChainGateway, sources, agreement: Agreement) -> journals.Ledger:
    rows = session.scalars(
        select(ChainEvent)
        .where(ChainEvent.agreement_id == agreement.agreement_id)
        .order_by(ChainEvent.block_number, ChainEvent.log_index)
    )
    facts = [journals.ChainFact(r.name, r.args, r.block_number, r.block_time, r.tx_hash) for r in rows]
    token = chain.token(agreement.token)
    prices: dict[int, object] = {}

    def price_at(block: int):
        if block not in prices:
            try:
                prices[block] = pricing.price_of(sources, agreement.token, chain.w3, block).value
            except pricing.PriceUnavailable as exc:
                raise Conflict(str(exc)) from exc
        return prices[block]

    key = ETH if int(agreement.token, 16) == 0 else Web3.to_checksum_address(agreement.token)
    if key not in sources:
        raise Conflict(f"no price source for token {agreement.token}: add it to ATTESTPAY_PRICES")
    ctx = journals.Context(agreement.title, agreement.token, token.symbol, token.decimals, sources[key].currency)
    invoices = dict(
        session.execute(select(Invoice.tx_hash, Invoice.number).where(Invoice.agreement_pk == agreement.id)).all()
    )
    terms = [milestone_terms(m) for m in agreement.milestones]
    titles = [f"Milestone {m.index + 1}, {m.title}" for m in agreement.milestones]
    return journals.from_events(ctx, facts, terms, titles, price_at, invoices)


def _erc20_net(chain: ChainGateway, token: str, escrow: str, wallet: str, start_block: int, end_block: int) -> int:
    def topic(address: str) -> str:
        return "0x" + "00" * 12 + address[2:].lower()

    net = 0
    for sender, receiver, sign in ((escrow, wallet, 1), (wallet, escrow, -1)):
        with chain.lock:
            logs = chain.w3.eth.get_logs(
                {
                    "address": Web3.to_checksum_address(token),
                    "fromBlock": start_block,
                    "toBlock": end_block,
                    "topics": [TRANSFER, topic(sender), topic(receiver)],
                }
            )
        net += sign * sum(int.from_bytes(bytes(log["data"]), "big") for log in logs)
    return net
