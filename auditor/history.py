"""The escrow's history read from the chain alone: every event of the escrow and its registry
(eth_getLogs in ranges that adapt), the ERC-20 transfers out of the escrow, and each settlement's
calldata for the one thing no event carries, the oracles' signatures (the settlement event names
the attestation's digest, value, observedAt and evidence hash; the milestone terms come from the
creation events)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from eth_typing import HexStr
from eth_utils import event_abi_to_log_topic, keccak
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import Web3TypeError
from web3.types import FilterParams

from attestpay import settlement
from attestpay.contracts import contract_at
from attestpay.terms import AgreementTerms, Attestation, Milestone

TRANSFER = keccak(text="Transfer(address,address,uint256)")
MAX_RANGE = 50_000
BATCH = 500  # transactions fetched per JSON-RPC batch


@dataclass
class Settlement:
    """A MilestoneSettled event with what its transaction said; the call's fields are None when
    the transaction did not call the escrow's settle functions itself (a contract wallet, a multicall)."""

    event: dict
    terms: AgreementTerms | None = None
    milestone: Milestone | None = None
    attestation: Attestation | None = None
    signatures: bytes | None = None


@dataclass
class History:
    chain_id: int
    escrow: str
    registry: str
    head: int
    events: list[dict] = field(default_factory=list)  # escrow and registry events, in chain order
    settlements: list[Settlement] = field(default_factory=list)
    transfers: dict[str, list[tuple[str, str, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # tx -> (token, to, amount)
    batches: dict[str, tuple[int, str]] = field(default_factory=dict)  # root -> (block, uri)
    revoked: dict[tuple[str, str], tuple[int, int]] = field(
        default_factory=dict
    )  # (digest, signer) -> (block, log index) of the signer's revocation

    def of(self, name: str) -> list[dict]:
        return [e for e in self.events if e["event"] == name]


def read(
    w3: Web3, escrow_address: str, start_block: int, progress: Callable[[int, int], None] = lambda done, total: None
) -> History:
    escrow = contract_at(w3, "MilestoneEscrow", escrow_address)
    registry = contract_at(w3, "AttestationRegistry", escrow.functions.registry().call())
    head = w3.eth.block_number
    history = History(w3.eth.chain_id, escrow.address, registry.address, head)
    decoders = _decoders(escrow, registry)
    padded_escrow = b"\0" * 12 + bytes.fromhex(escrow.address[2:])
    for _first, _last, logs in _ranges(
        w3, {"address": [escrow.address, registry.address]}, start_block, head, progress
    ):
        for raw in logs:
            decoder = decoders.get(bytes(raw["topics"][0])) if raw["topics"] else None
            if decoder is not None:
                history.events.append(_plain(decoder.process_log(raw)))
    for _, _, logs in _ranges(w3, {"topics": [TRANSFER, padded_escrow]}, start_block, head, lambda done, total: None):
        for raw in logs:
            to = Web3.to_checksum_address(bytes(raw["topics"][2])[-20:])
            history.transfers["0x" + bytes(raw["transactionHash"]).hex()].append(
                (raw["address"], to, int.from_bytes(bytes(raw["data"]), "big"))
            )
    history.events.sort(key=lambda e: (e["blockNumber"], e["logIndex"]))
    for e in history.events:
        if e["event"] == "BatchAnchored":
            history.batches.setdefault(e["args"]["root"], (e["blockNumber"], e["args"]["uri"]))
        elif e["event"] == "SignatureRevoked":
            key = (e["args"]["digest"], e["args"]["signer"])
            history.revoked.setdefault(key, (e["blockNumber"], e["logIndex"]))
    settled = history.of("MilestoneSettled")
    calls = SettleCalls(escrow)
    for start in range(0, len(settled), BATCH):
        chunk = settled[start : start + BATCH]
        transactions = _transactions(w3, [e["transactionHash"] for e in chunk])
        history.settlements.extend(
            calls.settlement(e, bytes(tx["input"])) for e, tx in zip(chunk, transactions, strict=True)
        )
    return history


def _transactions(w3: Web3, hashes: list[str]) -> list:
    """The transactions, in one JSON-RPC batch where the provider takes batches (HTTP does)."""
    try:
        with w3.batch_requests() as batch:
            for tx_hash in hashes:
                batch.add(w3.eth.get_transaction(HexStr(tx_hash)))
            return batch.execute()
    except Web3TypeError:  # the embedded eth-tester provider: one call each
        return [w3.eth.get_transaction(HexStr(tx_hash)) for tx_hash in hashes]


def _decoders(*contracts: Contract) -> dict:
    decoders = {}
    for contract in contracts:
        for abi in contract.abi:
            if abi["type"] == "event":
                decoders[event_abi_to_log_topic(abi)] = getattr(contract.events, abi["name"])()
    return decoders


def _ranges(w3: Web3, query: dict, first: int, head: int, progress):
    """(first, last, logs) over [first, head], halving a range the node refuses."""
    size = MAX_RANGE
    while first <= head:
        last = min(head, first + size - 1)
        try:
            logs = w3.eth.get_logs(cast(FilterParams, query | {"fromBlock": first, "toBlock": last}))
        except Exception:  # the node's own limit on a range or on results
            if size == 1:
                raise
            size = max(1, size // 2)
            continue
        yield first, last, logs
        progress(last, head)
        first = last + 1


def _plain(event) -> dict:
    """An event as plain data: hashes and bytes as 0x-hex, structs as dicts."""
    return {
        "event": event.event,
        "blockNumber": event.blockNumber,
        "logIndex": event.logIndex,
        "transactionHash": "0x" + bytes(event.transactionHash).hex(),
        "args": {k: _value(v) for k, v in event.args.items()},
    }


def _value(v):
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    if hasattr(v, "keys"):
        return {k: _value(v[k]) for k in v.keys()}
    return v


class SettleCalls:
    """Reads `settleMilestonePacked` and `settleWithConsents` calldata: the ABI codec for the call's
    arguments (web3's decode_function_input searches the whole ABI on every call, 6 ms each), then
    the packed settlement that is their first (`attestpay.settlement`)."""

    def __init__(self, escrow: Contract) -> None:
        self.codec = escrow.w3.codec
        self.types = {
            function_abi_to_4byte_selector(abi): get_abi_input_types(abi)
            for abi in escrow.abi
            if abi.get("name") in ("settleMilestonePacked", "settleWithConsents")
        }

    def settlement(self, event: dict, data: bytes) -> Settlement:
        types = self.types.get(data[:4])
        if types is None:
            return Settlement(event)
        try:
            packed = settlement.unpack(self.codec.decode(types, data[4:])[0])
        except settlement.MalformedSettlement:
            return Settlement(event)
        return Settlement(event, packed.terms, packed.milestone, packed.attestation, packed.signatures)


def milestone_of(m: dict) -> Milestone:
    """A Milestone from the ABI's struct (as the calldata or an event decodes it)."""
    return Milestone(
        amount=m["amount"],
        bonus=m["bonus"],
        metric_id=_bytes(m["metricId"]),
        floor=m["floor"],
        target=m["target"],
        stretch=m["stretch"],
        deadline=m["deadline"],
        holdback_period=m["holdbackPeriod"],
        floor_payout_bps=m["floorPayoutBps"],
        late_penalty_bps_per_day=m["latePenaltyBpsPerDay"],
        max_late_penalty_bps=m["maxLatePenaltyBps"],
        holdback_bps=m["holdbackBps"],
        higher_is_better=m["higherIsBetter"],
        requires_client_approval=m["requiresClientApproval"],
    )


def _bytes(v) -> bytes:
    return bytes.fromhex(v[2:]) if isinstance(v, str) else bytes(v)
