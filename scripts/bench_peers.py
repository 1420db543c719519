"""Gas beside the floors and a peer, and how it grows, in one run on anvil (Prague, the same EVM
rules as the embedded chain, and fast enough to create 10,000 agreements); whole-transaction gas
(receipt gasUsed).

- Floors: an ERC-20 transfer, an ether transfer, one `ecrecover` (a call of the precompile with
  its 128 bytes of input). A settlement must at least move the token once and recover one
  signature, so its floor is the ERC-20 transfer plus the ecrecover call less one 21,000 base.
- Peers, each deployed from its npm package's own compiled artifacts (real bytecode):
  - the Ethereum Attestation Service (`@ethereum-attestation-service/eas-contracts`): `attest`,
    `multiAttest` and `multiTimestamp` per attestation, against our registry's `anchor` of a Merkle
    batch per attestation;
  - Sablier Lockup tranched streams (`@sablier/lockup`; a tranche schedule is a milestone
    schedule): create a stream of 3 tranches, against our create-and-fund of 3 milestones, and the
    recipient's withdrawal of an unlocked tranche, against our settlement;
  - UMA's Optimistic Oracle v3 (`@uma/contracts-node`): `assertTruth` and, after the liveness,
    `settleAssertion`, against our settlement (which checks the oracles' attestation and pays).
  scripts/peer_contracts.py deploys the last two and says what setup each gets.
- Growth: settlement gas with 1, 10 and 100 milestones in the agreement (the Merkle proof grows
  with log2 of the count) and after 100 and 10,000 agreements exist.
Writes bench/results/peers.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import peer_contracts
from bench_gas import Bench
from eth_abi import encode
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

from attestpay import typed_data
from attestpay.devchain import dev_party, start_anvil
from attestpay.terms import ETH

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "peers.json"
EAS = ROOT / "node_modules" / "@ethereum-attestation-service" / "eas-contracts" / "artifacts" / "contracts"
BATCH = 100  # attestations per EAS multi-call and per our comparable anchor
ZERO32 = b"\0" * 32
DAY = 86_400
TOKEN = 10**18
UMA_LIVENESS = 7_200  # the Optimistic Oracle v3's default challenge window, 2 hours
UMA_FINAL_FEE = 250 * TOKEN  # the minimum bond is twice the Store's final fee


class Peers(Bench):
    def ecrecover_floor(self) -> int:
        """A call of the ecrecover precompile (address 1) with a real signature."""
        signer = Account.create()
        digest = Web3.keccak(text="one signature")
        sig = Account.unsafe_sign_hash(digest, signer.key)
        data = digest + sig.v.to_bytes(32, "big") + sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big")
        tx = self.w3.eth.send_transaction(
            {"from": self.deployer, "to": "0x0000000000000000000000000000000000000001", "data": data}
        )
        return self.w3.eth.wait_for_transaction_receipt(tx)["gasUsed"]

    def _eas_contract(self, name: str, *args):
        artifact = json.loads((EAS / f"{name}.sol" / f"{name}.json").read_text())
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": self.deployer}))
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def eas(self) -> dict[str, int]:
        """EAS's attest, multiAttest and multiTimestamp, per attestation of one bytes32 (a digest)."""
        schemas = self._eas_contract("SchemaRegistry")
        eas = self._eas_contract("EAS", schemas.address)
        self._send(schemas.functions.register("bytes32 digest", ETH, True), self.deployer)
        uid = Web3.solidity_keccak(["string", "address", "bool"], ["bytes32 digest", ETH, True])

        def item(n: int) -> tuple:
            return (ETH, 0, True, ZERO32, encode(["bytes32"], [Web3.keccak(n.to_bytes(32, "big"))]), 0)

        self._send(eas.functions.attest((uid, item(0))), self.relayer)  # the first write of a fresh counter is dearer
        single = self._send(eas.functions.attest((uid, item(1))), self.relayer)
        multi = self._send(eas.functions.multiAttest([(uid, [item(i) for i in range(2, 2 + BATCH)])]), self.relayer)
        stamps = self._send(
            eas.functions.multiTimestamp([Web3.keccak(i.to_bytes(32, "big")) for i in range(BATCH)]), self.relayer
        )
        return {"eas_attest": single, f"eas_multiattest_{BATCH}": multi, f"eas_multitimestamp_{BATCH}": stamps}

    def _advance(self, seconds: int) -> None:
        """Anvil's clock forward by `seconds`, with a block mined at the new time."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def sablier(self) -> dict[str, int]:
        """A tranched stream of 3 tranches of 100 tokens 30 days apart, from the client to the provider
        (our 3-milestone agreement as a schedule), then the provider's withdrawal of the first tranche."""
        lockup = peer_contracts.deploy_sablier_lockup(self.w3, self.deployer)
        self._send(self.token.functions.approve(lockup.address, 2**256 - 1), self.client)

        def create() -> tuple[int, int]:
            start = self.now()
            tranches = [(100 * TOKEN, start + i * 30 * DAY) for i in (1, 2, 3)]
            params = (
                self.client,
                self.provider,
                300 * TOKEN,
                self.token.address,
                True,
                False,
                (start, tranches[-1][1]),
            )
            gas = self._send(lockup.functions.createWithTimestampsLT((*params, "milestones"), tranches), self.client)
            return lockup.functions.nextStreamId().call() - 1, gas

        first, _ = create()  # the first stream writes fresh counters and balances: dearer
        stream, gas_create = create()
        self._advance(30 * DAY + 1)
        self._send(lockup.functions.withdraw(first, self.provider, 100 * TOKEN), self.provider)
        gas_withdraw = self._send(lockup.functions.withdraw(stream, self.provider, 100 * TOKEN), self.provider)
        return {"sablier_create_3_tranches": gas_create, "sablier_withdraw_tranche": gas_withdraw}

    def uma(self) -> dict[str, int]:
        """An assertion that a milestone's metric reached its target, bonded with the minimum bond in
        the bench token, then settled once the liveness passed undisputed."""
        oov3 = peer_contracts.deploy_uma_oov3(
            self.w3, self.token.address, UMA_FINAL_FEE, UMA_LIVENESS, sender=self.deployer
        )
        bond = oov3.functions.getMinimumBond(self.token.address).call()
        self._send(self.token.functions.mint(self.relayer, 10 * bond), self.deployer)
        self._send(self.token.functions.approve(oov3.address, 2**256 - 1), self.relayer)

        def assert_truth(n: int) -> tuple[bytes, int]:
            claim = f"Milestone {n} of agreement 0x{'11' * 32}: metric value 9200 reached target 9200".encode()
            call = oov3.functions.assertTruth(
                claim,
                self.relayer,
                ETH,
                ETH,
                UMA_LIVENESS,
                self.token.address,
                bond,
                peer_contracts.ASSERT_TRUTH,
                ZERO32,
            )
            receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": self.relayer}))
            if receipt["status"] != 1:
                raise RuntimeError("assertTruth reverted")
            made = oov3.events.AssertionMade().process_receipt(receipt, errors=DISCARD)[0]
            return made["args"]["assertionId"], receipt["gasUsed"]

        first, _ = assert_truth(0)  # the first assertion writes fresh balances: dearer
        assertion, gas_assert = assert_truth(1)
        self._advance(UMA_LIVENESS)
        self._send(oov3.functions.settleAssertion(first), self.relayer)
        gas_settle = self._send(oov3.functions.settleAssertion(assertion), self.relayer)
        return {"uma_assert_truth": gas_assert, "uma_settle_assertion": gas_settle}

    def anchor(self, count: int) -> int:
        root = Web3.keccak(text=f"a batch of {count} attestation digests")
        return self._send(self.registry.functions.anchor(root, count, "evidence:0x" + root.hex()), self.relayer)

    def settlement_with(self, milestones: int) -> int:
        ms = [self.milestone(metric_id=i.to_bytes(32, "big")) for i in range(1, milestones + 1)]
        agreement_id, terms, _ = self.create_and_fund(self.token.address, ms)
        return self.settle(agreement_id, terms, ms, milestones - 1, 1)

    def settlement_after(self, agreements: int, progress) -> int:
        """Settlement gas once `agreements` agreements exist on the escrow. They are sent without
        waiting for each receipt (anvil mines each on arrival); every one must have succeeded."""
        sent = []
        while self.salt < agreements:
            ms = [self.milestone()]
            terms = self.terms(self.token.address, ms)
            consent = typed_data.sign(self.provider_key, self.digest(typed_data.terms_hash(terms)))
            sent.append(
                self.escrow.functions.createAndFund(terms.as_abi(), [m.as_abi() for m in ms], consent).transact(
                    {"from": self.client}
                )
            )
            if self.salt % 1_000 == 0:
                progress(self.salt)
        if sent:
            self.w3.eth.wait_for_transaction_receipt(sent[-1])
        if any(self.w3.eth.get_transaction_receipt(h)["status"] != 1 for h in sent):
            raise RuntimeError("an agreement's createAndFund reverted")
        return self.settlement_with(1)

    def run(self) -> dict[str, int]:
        self.create_and_fund(self.token.address, [self.milestone()])  # steady state, as in bench_gas
        r = {
            "floor_erc20_transfer": self._send(self.token.functions.transfer(self.provider, 10**18), self.client),
            "floor_eth_transfer": self.w3.eth.wait_for_transaction_receipt(
                self.w3.eth.send_transaction({"from": self.client, "to": self.relayer, "value": 1})
            )["gasUsed"],
            "floor_ecrecover": self.ecrecover_floor(),
            "settle_1sig_erc20": self.settlement_with(1),
            "create_fund_3_erc20": self.create_and_fund(self.token.address, [self.milestone()] * 3)[2],
        }
        r |= self.eas()
        r |= self.sablier()
        r |= self.uma()
        r[f"anchor_batch_{BATCH}"] = self.anchor(BATCH)
        r["anchor_batch_1024"] = self.anchor(1024)
        for n in (1, 10, 100):
            r[f"settle_with_{n}_milestones"] = self.settlement_with(n)
        for n in (100, 10_000):
            r[f"settle_after_{n}_agreements"] = self.settlement_after(
                n, lambda done: print(f"  {done:,} agreements", file=sys.stderr)
            )
        return r


def ratios(r: dict[str, int]) -> dict[str, float]:
    floor = r["floor_erc20_transfer"] + r["floor_ecrecover"] - 21_000
    ours = r["anchor_batch_1024"] / 1024
    return {
        "settle_vs_floor_sum": round(r["settle_1sig_erc20"] / floor, 3),
        "eas_attest_vs_our_anchoring_per_attestation": round(r["eas_attest"] / ours, 1),
        "eas_multiattest_vs_our_anchoring_per_attestation": round(r[f"eas_multiattest_{BATCH}"] / BATCH / ours, 1),
        "eas_multitimestamp_vs_our_anchoring_per_attestation": round(
            r[f"eas_multitimestamp_{BATCH}"] / BATCH / ours, 1
        ),
        "sablier_create_3_tranches_vs_our_create_fund_3": round(
            r["sablier_create_3_tranches"] / r["create_fund_3_erc20"], 3
        ),
        "sablier_withdraw_vs_our_settle": round(r["sablier_withdraw_tranche"] / r["settle_1sig_erc20"], 3),
        "uma_assert_and_settle_vs_our_settle": round(
            (r["uma_assert_truth"] + r["uma_settle_assertion"]) / r["settle_1sig_erc20"], 3
        ),
        "settle_growth_1_to_100_milestones": round(r["settle_with_100_milestones"] / r["settle_with_1_milestones"], 3),
        "settle_growth_100_to_10000_agreements": round(
            r["settle_after_10000_agreements"] / r["settle_after_100_agreements"], 3
        ),
    }


def table(r: dict[str, int], q: dict[str, float]) -> str:
    ours = r["anchor_batch_1024"] / 1024
    rows = [
        ("ERC-20 transfer (floor)", r["floor_erc20_transfer"], ""),
        ("ether transfer (floor)", r["floor_eth_transfer"], ""),
        ("one ecrecover (floor)", r["floor_ecrecover"], ""),
        (
            "settle, 1 signature, ERC-20",
            r["settle_1sig_erc20"],
            f"{q['settle_vs_floor_sum']}x the floor sum (transfer + ecrecover)",
        ),
        (
            "EAS attest, per attestation",
            r["eas_attest"],
            f"{q['eas_attest_vs_our_anchoring_per_attestation']}x our anchoring",
        ),
        (
            f"EAS multiAttest ({BATCH}), per attestation",
            r[f"eas_multiattest_{BATCH}"] // BATCH,
            f"{q['eas_multiattest_vs_our_anchoring_per_attestation']}x our anchoring",
        ),
        (
            f"EAS multiTimestamp ({BATCH}), per attestation",
            r[f"eas_multitimestamp_{BATCH}"] // BATCH,
            f"{q['eas_multitimestamp_vs_our_anchoring_per_attestation']}x our anchoring",
        ),
        ("create and fund 3 milestones, ERC-20", r["create_fund_3_erc20"], ""),
        (
            "Sablier Lockup: create a stream of 3 tranches",
            r["sablier_create_3_tranches"],
            f"{q['sablier_create_3_tranches_vs_our_create_fund_3']}x our create and fund of 3 milestones",
        ),
        (
            "Sablier Lockup: withdraw a tranche",
            r["sablier_withdraw_tranche"],
            f"{q['sablier_withdraw_vs_our_settle']}x our settlement",
        ),
        ("UMA OOv3: assertTruth", r["uma_assert_truth"], ""),
        ("UMA OOv3: settleAssertion", r["uma_settle_assertion"], ""),
        (
            "UMA OOv3: assertTruth + settleAssertion",
            r["uma_assert_truth"] + r["uma_settle_assertion"],
            f"{q['uma_assert_and_settle_vs_our_settle']}x our settlement",
        ),
        (f"our anchor ({BATCH}), per attestation", r[f"anchor_batch_{BATCH}"] // BATCH, ""),
        ("our anchor (1024), per attestation", round(ours), ""),
        (
            "settle with 1 / 10 / 100 milestones",
            f"{r['settle_with_1_milestones']:,} / {r['settle_with_10_milestones']:,} / "
            f"{r['settle_with_100_milestones']:,}",
            f"x{q['settle_growth_1_to_100_milestones']} (log2 proof)",
        ),
        (
            "settle after 100 / 10,000 agreements",
            f"{r['settle_after_100_agreements']:,} / {r['settle_after_10000_agreements']:,}",
            f"x{q['settle_growth_100_to_10000_agreements']}",
        ),
    ]
    lines = ["| case | gas | comparison |", "| --- | ---: | --- |"]
    lines += [
        f"| {name} | {gas:,} | {note} |" if isinstance(gas, int) else f"| {name} | {gas} | {note} |"
        for name, gas, note in rows
    ]
    return "\n".join(lines)


def main() -> None:
    absent = [p for p in (EAS, *peer_contracts.missing()) if not p.is_dir()]
    if absent:
        raise SystemExit(f"{', '.join(map(str, absent))} missing: run `make install` (the peers come from npm)")
    chain = start_anvil()
    try:
        results = Peers(chain.w3, [dev_party(i).key for i in range(10)]).run()
    finally:
        chain.stop()
    q = ratios(results)
    print(table(results, q))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"gas": results, "ratios": q}, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
