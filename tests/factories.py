"""Builders the pytest suites share: milestones, terms, signed wallet messages, sent transactions,
metric specs."""

from __future__ import annotations

import json
from dataclasses import replace

from eth_account import Account
from web3 import Web3

from attestpay import typed_data
from attestpay.devstack import MODEL_ACCURACY_SPEC, accuracy_milestone
from attestpay.terms import AgreementTerms, Milestone
from backend.client import send as sign_and_send
from oracle.batcher import AnchorQueue
from oracle.evidence import EvidenceStore
from oracle.node import OracleNode
from oracle.service import create_app
from oracle.signer import OracleSigner
from oracle.spec import MetricSpec, load_spec

DAY = 86_400
ACCURACY = Web3.keccak(text="accuracy@v1")


def milestone(chain, **changes) -> Milestone:
    """The benchmarks' accuracy milestone with a 10-token bonus, due in 30 days."""
    suite_terms = {"bonus": 10 * 10**18, "metric_id": ACCURACY, "deadline": chain.now() + 30 * DAY}
    return accuracy_milestone(**(suite_terms | changes))


def terms(chain, token: str, milestones: list[Milestone], threshold: int, **changes) -> AgreementTerms:
    base = AgreementTerms(
        client=chain.client.address,
        provider=chain.provider.address,
        arbiter=chain.arbiter.address,
        token=token,
        oracles=tuple(o.address for o in chain.oracles),
        threshold=threshold,
        cure_window=7 * DAY,
        revision=0,
        docs_hash=Web3.keccak(text="statement of work v1"),
        salt=b"\x00" * 31 + b"\x01",
        milestones_root=typed_data.milestones_root(milestones),
    )
    return replace(base, **changes)


def wallet_sign(chain, key: str, primary_type: str, message: dict) -> bytes:
    """What a wallet does with eth_signTypedData_v4: sign the full EIP-712 message."""
    full = typed_data.typed_data(primary_type, message, chain.chain_id, chain.escrow.address)
    return bytes(Account.sign_typed_data(key, full_message=full).signature)


def send(chain, call, sender: str, value: int = 0):
    receipt = chain.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "value": value}))
    assert receipt["status"] == 1
    return receipt


def create_and_fund(chain, agreement: AgreementTerms, milestones: list[Milestone]) -> bytes:
    """The client creates with the provider's wallet-signed consent and funds (ERC-20 or ether)."""
    consent = wallet_sign(chain, chain.provider.key, "Agreement", typed_data.terms_message(agreement))
    value = sum(m.amount + m.bonus for m in milestones) if int(agreement.token, 16) == 0 else 0
    call = chain.escrow.functions.createAndFund(agreement.as_abi(), [m.as_abi() for m in milestones], consent)
    send(chain, call, chain.client.address, value)
    return typed_data.terms_hash(agreement)


ACCURACY_SPEC = MODEL_ACCURACY_SPEC


def conversions_spec(source: dict, **fields) -> MetricSpec:
    """The spec of a conversions count read from `source`: higher is better, summed unless `fields` say
    otherwise, parsed from its JSON as an oracle node reads it."""
    spec = {
        "name": "conversions",
        "version": 1,
        "unit": "conversions",
        "decimals": 0,
        "higher_is_better": True,
        "aggregation": "sum",
    }
    return load_spec(json.dumps(spec | fields | {"source": source}))


def agreement_body(chain, token: str | None = None, milestones: int = 2, threshold: int = 2, **changes) -> dict:
    """An API request for an agreement: 100 + 10 bonus per milestone, accuracy 80/92/96%."""
    body = {
        "title": "Fraud model in production",
        "client": chain.client.address,
        "provider": chain.provider.address,
        "arbiter": chain.arbiter.address,
        "token": token,
        "oracles": [o.address for o in reversed(chain.oracles)],
        "threshold": threshold,
        "cure_window": 7 * DAY,
        "documents": [{"name": "statement of work", "hash": "0x" + Web3.keccak(text="sow v1").hex()}],
        "milestones": [
            {
                "title": f"accuracy milestone {i}",
                "spec": ACCURACY_SPEC,
                "amount": str(100 * 10**18),
                "bonus": str(10 * 10**18),
                "floor": "8000",
                "target": "9200",
                "stretch": "9600",
                "deadline": chain.now() + 30 * DAY,
                "floor_payout_bps": 5000,
                "late_penalty_bps_per_day": 100,
                "max_late_penalty_bps": 1000,
            }
            for i in range(milestones)
        ],
    }
    return body | changes


def wallet_send(chain, party, tx: dict) -> str:
    """What a wallet does with a transaction the backend prepared: fill nonce and fees, sign, send."""
    return sign_and_send(chain.w3, party.key, tx)


ORACLE_NODE_KEY = "node-api-key-0123456789"


def oracle_node_app(chain, tmp_path, index: int, correct: int, push=None):
    """Oracle `index`'s HTTP service over its own evaluation data: `correct` of 100 predictions
    right (accuracy `correct`.00%); `push`: where it sends what it signs (an `oracle.service.BackendPush`)."""
    data = tmp_path / f"node{index}"
    data.mkdir()
    rows = [{"time": 1, "prediction": 1, "label": 1 if i < correct else 0} for i in range(100)]
    (data / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    signer = OracleSigner.from_dev_key(chain.oracles[index].key, dev_mode=True)
    node = OracleNode(signer, data, EvidenceStore(data / "evidence"), chain.chain_id, chain.escrow.address)
    return create_app(node, AnchorQueue(data / "queue"), ORACLE_NODE_KEY, push)
