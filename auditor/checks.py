"""The auditor's checks over a `History`, trusting nothing but the chain and the evidence bytes.

For every settlement, from its event and the registered milestone terms:
- the client's approval (`MilestoneApproved`, by transaction or signature) preceded it for an
  acceptance-type milestone, and the provider's `PartialResultAccepted` came with it below target;
and from its calldata (when the transaction called the escrow's settle functions itself; otherwise a note):
- the calldata's terms hash to the agreement id, its milestone is the one registered, and its
  attestation is the one the event names (digest, value, observedAt, evidence hash);
- the signatures recover to distinct members of the oracle set in force at that block, enough, and
  none of them was revoked by its signer before the settlement (a revocation withdraws only the
  revoker's own signature; one after the settlement is a note);
- the attestation was anchored in a registry batch (inclusion proof against the root the registry
  stored, from the published batch file);
- the payout recomputed with the spec's formula from the event's value and observedAt equals the
  event, and what moved equals the
  event, to the wei: ERC-20 transfers out of the escrow or credits in the same transaction; for
  ether, which moves without logs, each block's change of the escrow's balance;
- with evidence: the spec (stored under the metric id) recomputes the attested value from the
  evidence bytes, whose hash is the attested evidence hash.
For every agreement, funds are conserved (funded = paid out + still held); per token, the
escrow's balance covers what it still owes (held funds and unpaid credits)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

from eth_typing import ChecksumAddress, HexStr
from web3 import Web3

from attestpay import payout, typed_data
from attestpay.terms import ETH, Milestone
from attestpay.verify import InvalidAttestation, signers_of_digest
from auditor.history import History, Settlement, milestone_of
from oracle.errors import EvidenceError
from oracle.evidence import EvidenceStore
from oracle.measure import value_from_evidence
from oracle.spec import MetricSpec


@dataclass
class Verdict:
    agreement_id: str
    token: str
    settlements: int = 0
    settled: int = 0  # base units paid or held for the provider by the verified settlements
    refunded: int = 0  # base units those settlements returned to the client
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # settled, anchoring still within the nodes' window

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class AgreementLedger:
    """What the events say of one agreement."""

    agreement_id: str
    token: str
    client: str
    provider: str
    oracle_sets: list[tuple[int, tuple[str, ...], int]]  # (from block, oracles, threshold)
    milestones: list[dict]
    funded: int = 0
    paid_out: int = 0
    held_back: dict[int, int] = field(default_factory=dict)  # index -> holdback still held
    closed: set[int] = field(default_factory=set)  # milestones whose amount + bonus left the open pool

    def oracles_at(self, block: int) -> tuple[tuple[str, ...], int]:
        current = self.oracle_sets[0]
        for entry in self.oracle_sets:
            if entry[0] <= block:
                current = entry
        return current[1], current[2]

    def still_held(self) -> int:
        open_funds = sum(m["amount"] + m["bonus"] for i, m in enumerate(self.milestones) if i not in self.closed)
        return open_funds + sum(self.held_back.values())


ANCHOR_GRACE = 60  # seconds past the nodes' window: an anchor transaction being mined, a tick of the schedule


class Auditor:
    def __init__(self, history: History, evidence: EvidenceStore | None, anchor_window: float | None = None) -> None:
        """`anchor_window`: the nodes' anchoring window in seconds. A settled attestation not yet in
        an anchored batch is then a warning while its settlement is younger than the window plus
        ANCHOR_GRACE (on the chain's clock), and a discrepancy after; without it, at once."""
        self.history, self.evidence, self.anchor_window = history, evidence, anchor_window
        self._head_time: int | None = None
        self.agreements: dict[str, AgreementLedger] = {}
        self.verdicts: dict[str, Verdict] = {}
        self._batch_trees: dict[str, list[str] | None] = {}
        self._credits: dict[str, list[tuple[str, str, int]]] = defaultdict(list)  # tx -> (token, account, amount)
        for e in history.of("Credited"):
            self._credits[e["transactionHash"]].append((e["args"]["token"], e["args"]["account"], e["args"]["amount"]))

    def run(self, w3: Web3) -> list[Verdict]:
        self._w3 = w3
        self._replay()
        settlements = {s.event["transactionHash"] + str(s.event["logIndex"]): s for s in self.history.settlements}
        for e in self.history.events:
            if e["event"] == "MilestoneSettled":
                self._settlement(settlements[e["transactionHash"] + str(e["logIndex"])])
        for agreement in self.agreements.values():
            self._conservation(agreement)
        self._ether_flows(w3)
        self._coverage(w3)
        return list(self.verdicts.values())

    # ------------------------------------------------------------------ the agreements' books

    def _replay(self) -> None:
        for e in self.history.events:
            a, name = e["args"], e["event"]
            if name == "AgreementCreated":
                t = a["terms"]
                self.agreements[a["agreementId"]] = AgreementLedger(
                    a["agreementId"],
                    t["token"],
                    t["client"],
                    t["provider"],
                    [(0, tuple(t["oracles"]), t["threshold"])],
                    list(a["milestones"]),
                )
                self.verdicts[a["agreementId"]] = Verdict(a["agreementId"], t["token"])
                continue
            agreement = self.agreements.get(a.get("agreementId"))
            if agreement is None:
                continue
            if name == "AgreementFunded":
                agreement.funded += a["amount"]
            elif name == "MilestoneAdded":
                agreement.milestones.append(a["milestone"])
                agreement.funded += a["milestone"]["amount"] + a["milestone"]["bonus"]
            elif name == "OraclesRotated":
                agreement.oracle_sets.append((e["blockNumber"], tuple(a["oracles"]), a["threshold"]))
            elif name == "MilestoneSettled":
                agreement.closed.add(a["index"])
                agreement.paid_out += a["paidNow"] + a["refund"]
                if a["holdback"]:
                    agreement.held_back[a["index"]] = a["holdback"]
            elif name == "HoldbackReleased":
                self._expect(
                    agreement,
                    agreement.held_back.pop(a["index"], 0) == a["amount"],
                    f"milestone {a['index'] + 1}: released a holdback of {a['amount']} that was not held",
                )
                agreement.paid_out += a["amount"]
                self._moved(agreement, e, [(agreement.provider, a["amount"])])
            elif name == "MilestoneReclaimed":
                agreement.closed.add(a["index"])
                agreement.paid_out += a["amount"]
                m = agreement.milestones[a["index"]]
                self._expect(
                    agreement,
                    a["amount"] == m["amount"] + m["bonus"],
                    f"milestone {a['index'] + 1}: reclaimed {a['amount']}, not amount + bonus",
                )
                self._moved(agreement, e, [(agreement.client, a["amount"])])
            elif name == "DisputeResolved":
                self._split(agreement, e)

    def _split(self, agreement: AgreementLedger, e: dict) -> None:
        a = e["args"]
        if a["holdback"]:
            disputed = agreement.held_back.pop(a["index"], 0)
        else:
            agreement.closed.add(a["index"])
            m = agreement.milestones[a["index"]]
            disputed = m["amount"] + m["bonus"]
        self._expect(
            agreement,
            (a["toProvider"], a["toClient"]) == payout.dispute_split(disputed, a["providerShareBps"]),
            f"milestone {a['index'] + 1}: the dispute split {a['toProvider']} + {a['toClient']} "
            f"is not {a['providerShareBps']} bps of {disputed}",
        )
        agreement.paid_out += a["toProvider"] + a["toClient"]
        self._moved(agreement, e, [(agreement.provider, a["toProvider"]), (agreement.client, a["toClient"])])

    # ------------------------------------------------------------------ settlements

    def _settlement(self, s: Settlement) -> None:
        e, a = s.event, s.event["args"]
        agreement = self.agreements.get(a["agreementId"])
        if agreement is None:
            return
        verdict = self.verdicts[agreement.agreement_id]
        verdict.settlements += 1
        verdict.settled += a["paidNow"] + a["holdback"]
        verdict.refunded += a["refund"]
        where = f"milestone {a['index'] + 1} (tx {e['transactionHash']})"
        milestone = milestone_of(agreement.milestones[a["index"]])
        self._consents(verdict, where, e, milestone)
        if s.attestation is None:
            verdict.notes.append(f"{where}: signatures not checked (the transaction did not call the escrow itself)")
        else:
            self._call(verdict, where, agreement, s, milestone)
        self._anchoring(verdict, where, a["attestation"], e["blockNumber"])
        figures = payout.compute(milestone, a["value"], a["observedAt"])
        expected = (figures.paid_now, figures.holdback, figures.refund)
        if (a["paidNow"], a["holdback"], a["refund"]) != expected:
            verdict.failures.append(
                f"{where}: the payout differs from the formula: paid {a['paidNow']}, held {a['holdback']}, refunded "
                f"{a['refund']}; the formula gives {expected[0]}, {expected[1]}, {expected[2]}"
            )
        self._moved(agreement, e, [(agreement.provider, a["paidNow"]), (agreement.client, a["refund"])])
        if self.evidence is not None:
            self._evidence(verdict, where, milestone.metric_id, a)

    def _consents(self, verdict: Verdict, where: str, e: dict, milestone: Milestone) -> None:
        """The consents the escrow requires, as events: an earlier approval, an acceptance with it."""
        a = e["args"]
        key = (a["agreementId"], a["index"])
        if milestone.requires_client_approval and not any(
            (x["args"]["agreementId"], x["args"]["index"]) == key and _before(x, e)
            for x in self.history.of("MilestoneApproved")
        ):
            verdict.failures.append(f"{where}: settled without the client's approval")
        if not payout.reaches(a["value"], milestone.target, milestone.higher_is_better) and not any(
            x["transactionHash"] == e["transactionHash"] and x["args"]["attestation"] == a["attestation"]
            for x in self.history.of("PartialResultAccepted")
        ):
            verdict.failures.append(f"{where}: settled below target without the provider's acceptance")

    def _call(
        self, verdict: Verdict, where: str, agreement: AgreementLedger, s: Settlement, milestone: Milestone
    ) -> None:
        """What the settlement's calldata proves: the terms, the milestone, the attestation, its signatures."""
        e, a = s.event, s.event["args"]
        assert s.terms is not None and s.attestation is not None and s.signatures is not None  # read from calldata
        if "0x" + typed_data.terms_hash(s.terms).hex() != agreement.agreement_id:
            verdict.failures.append(f"{where}: the settlement's terms do not hash to the agreement id")
            return
        if s.milestone != milestone:
            verdict.failures.append(f"{where}: the settled milestone's terms are not the registered ones")
            return
        digest = typed_data.attestation_digest(s.attestation, self.history.chain_id, self.history.escrow)
        att = s.attestation
        signed = (att.value, att.observed_at, "0x" + att.evidence_hash.hex())
        if "0x" + digest.hex() != a["attestation"] or signed != (a["value"], a["observedAt"], a["evidenceHash"]):
            verdict.failures.append(f"{where}: the attestation in the calldata is not the one the event names")
            return
        oracles, threshold = agreement.oracles_at(e["blockNumber"])
        revoked = self._revoked_before(a["attestation"], oracles, (e["blockNumber"], e["logIndex"]))
        try:
            signers = signers_of_digest(
                digest, s.signatures, {bytes.fromhex(o[2:]) for o in oracles}, threshold, revoked
            )
        except InvalidAttestation as exc:
            verdict.failures.append(
                f"{where}: signatures: {exc} (the set at block {e['blockNumber']}, threshold {threshold})"
            )
        else:
            for signer in signers:
                if (a["attestation"], signer) in self.history.revoked:
                    block = self.history.revoked[(a["attestation"], signer)][0]
                    verdict.notes.append(
                        f"{where}: {signer} revoked its signature after the settlement (block {block})"
                    )

    def _revoked_before(self, digest: str, oracles: tuple[str, ...], when: tuple[int, int]) -> frozenset[bytes]:
        """The members whose revocation of their signature of `digest` came before `when`."""
        return frozenset(bytes.fromhex(o[2:]) for o in oracles if self.history.revoked.get((digest, o), when) < when)

    def _anchoring(self, verdict: Verdict, where: str, digest: str, block: int) -> None:
        if self.evidence is None:
            verdict.notes.append(f"{where}: anchoring not checked (no evidence location for the batch files)")
            return
        leaf = "0x" + typed_data.registry_leaf(bytes.fromhex(digest[2:])).hex()
        if any(self._proves(root, uri, leaf) for root, (_, uri) in self.history.batches.items()):
            return
        age = self._age(block)
        if self.anchor_window is not None and age <= self.anchor_window + ANCHOR_GRACE:
            verdict.pending.append(
                f"{where}: attestation {digest} settled {age} s ago, anchoring pending within the nodes' window "
                f"({self.anchor_window:g} s + {ANCHOR_GRACE} s)"
            )
            return
        late = f", settled {age} s ago: past the nodes' window" if self.anchor_window is not None else ""
        verdict.failures.append(f"{where}: attestation {digest} is not in any batch anchored in the registry{late}")

    def _age(self, block: int) -> int:
        """Seconds from `block` to the head, on the chain's clock."""
        if self._head_time is None:
            self._head_time = self._w3.eth.get_block(self.history.head)["timestamp"]
        return self._head_time - self._w3.eth.get_block(block)["timestamp"]

    def _proves(self, root: str, uri: str, leaf: str) -> bool:
        """The published batch file under `uri` has `leaf`, and its proof leads to the registry's `root`."""
        if uri not in self._batch_trees:
            self._batch_trees[uri] = self._batch_tree(uri)
        tree = self._batch_trees[uri]
        if tree is None or leaf not in tree:
            return False
        index, node = tree.index(leaf), bytes.fromhex(leaf[2:])
        while index > 0:
            sibling = bytes.fromhex(tree[index + 1 if index % 2 else index - 1][2:])
            node, index = typed_data.hash_pair(node, sibling), (index - 1) // 2
        return "0x" + node.hex() == root

    def _batch_tree(self, uri: str) -> list[str] | None:
        if self.evidence is None or not uri.startswith("evidence:0x"):
            return None
        try:
            return json.loads(self.evidence.get(bytes.fromhex(uri.removeprefix("evidence:0x"))))["tree"]
        except (EvidenceError, ValueError, KeyError):
            return None

    def _evidence(self, verdict: Verdict, where: str, metric_id: bytes, a: dict) -> None:
        """The settlement event's value, recomputed from the evidence its hash names."""
        assert self.evidence is not None  # called only with an evidence location
        try:
            spec = MetricSpec.model_validate_json(self.evidence.get(metric_id))
            raw = self.evidence.get(bytes.fromhex(a["evidenceHash"][2:]))
        except EvidenceError as exc:
            verdict.failures.append(f"{where}: evidence: {exc}")
            return
        value, _, _ = value_from_evidence(spec, raw, a["observedAt"])
        if value != a["value"]:
            verdict.failures.append(
                f"{where}: the evidence gives {value} by the metric's spec, the oracles attested {a['value']}"
            )

    # ------------------------------------------------------------------ money that moved

    def _moved(self, agreement: AgreementLedger, e: dict, payments: list[tuple[str, int]]) -> None:
        """Each payment reached its payee in the event's transaction, or was credited to it."""
        if agreement.token == ETH:
            return  # ether moves without logs: each block's balance change is reconciled (`_ether_flows`)
        tx = e["transactionHash"]
        transfers, credits = list(self.history.transfers.get(tx, [])), list(self._credits.get(tx, []))
        for payee, amount in payments:
            if amount == 0:
                continue
            if (agreement.token, payee, amount) in transfers:
                transfers.remove((agreement.token, payee, amount))
            elif (agreement.token, payee, amount) in credits:
                credits.remove((agreement.token, payee, amount))
            else:
                self.verdicts[agreement.agreement_id].failures.append(
                    f"{e['event']} of milestone {e['args']['index'] + 1} (tx {tx}): "
                    f"{amount} to {payee} neither moved nor was credited"
                )

    def _ether_flows(self, w3: Web3) -> None:
        """Ether moves without logs, so each block's change of the escrow's ether balance must be
        what that block's events account for: fundings in; payments (less those credited instead)
        and withdrawals out. To the wei, whatever else the block holds."""
        expected: dict[int, int] = defaultdict(int)
        touched: dict[int, set[str]] = defaultdict(set)
        for e in self.history.events:
            a, block = e["args"], e["blockNumber"]
            agreement = self.agreements.get(a.get("agreementId"))
            if agreement is not None and agreement.token == ETH:
                touched[block].add(agreement.agreement_id)
                expected[block] += _ether_in(e) - _ether_out(e)
            elif e["event"] in ("Credited", "Withdrawn") and a["token"] == ETH:
                expected[block] += a["amount"] if e["event"] == "Credited" else -a["amount"]
        for block, delta in sorted(expected.items()):
            escrow = cast(ChecksumAddress, self.history.escrow)
            moved = w3.eth.get_balance(escrow, block) - w3.eth.get_balance(escrow, block - 1)
            if moved != delta:
                for agreement_id in touched[block] or self.verdicts:
                    self.verdicts[agreement_id].failures.append(
                        f"block {block}: the escrow's ether changed by {moved}; its events account for {delta}"
                    )

    def _conservation(self, agreement: AgreementLedger) -> None:
        held = agreement.still_held()
        if agreement.funded and agreement.funded != agreement.paid_out + held:
            self.verdicts[agreement.agreement_id].failures.append(
                f"funds not conserved: funded {agreement.funded}, paid out {agreement.paid_out}, still held {held}"
            )

    def _coverage(self, w3: Web3) -> None:
        """Per token: the escrow's balance now covers the funds it holds and the credits it owes."""
        owed: dict[str, int] = defaultdict(int)
        for agreement in self.agreements.values():
            if agreement.funded:
                owed[agreement.token] += agreement.still_held()
        for e in self.history.events:
            if e["event"] == "Credited":
                owed[e["args"]["token"]] += e["args"]["amount"]
            elif e["event"] == "Withdrawn":
                owed[e["args"]["token"]] -= e["args"]["amount"]
        for token, amount in owed.items():
            balance = _balance(w3, token, self.history.escrow, self.history.head)
            if balance < amount:
                for agreement in self.agreements.values():
                    if agreement.token == token and agreement.funded:
                        self.verdicts[agreement.agreement_id].failures.append(
                            f"the escrow holds {balance} of {token} but owes {amount} (held funds and credits)"
                        )

    def _expect(self, agreement: AgreementLedger, ok: bool, failure: str) -> None:
        if not ok:
            self.verdicts[agreement.agreement_id].failures.append(failure)


def _before(x: dict, e: dict) -> bool:
    return (x["blockNumber"], x["logIndex"]) < (e["blockNumber"], e["logIndex"])


def _ether_in(e: dict) -> int:
    a = e["args"]
    if e["event"] == "AgreementFunded":
        return a["amount"]
    if e["event"] == "MilestoneAdded":
        return a["milestone"]["amount"] + a["milestone"]["bonus"]
    return 0


def _ether_out(e: dict) -> int:
    """What the event paid out of the escrow (a payment that failed shows as Credited, added back)."""
    a = e["args"]
    return {
        "MilestoneSettled": lambda: a["paidNow"] + a["refund"],
        "HoldbackReleased": lambda: a["amount"],
        "MilestoneReclaimed": lambda: a["amount"],
        "DisputeResolved": lambda: a["toProvider"] + a["toClient"],
    }.get(e["event"], lambda: 0)()


def _balance(w3: Web3, token: str, holder: str, block: int) -> int:
    if token == ETH:
        return w3.eth.get_balance(cast(ChecksumAddress, holder), block)
    selector = Web3.keccak(text="balanceOf(address)")[:4]
    data = selector + b"\0" * 12 + bytes.fromhex(holder[2:])
    return int.from_bytes(w3.eth.call({"to": token, "data": HexStr("0x" + data.hex())}, block), "big")
