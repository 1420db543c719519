"""Oracle keys and M-of-N attestations, checked by the real escrow on eth-tester."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from factories import create_and_fund, milestone, send, terms

from attestpay import payout, settlement, typed_data
from attestpay.reverts import decode_revert, revert_data
from oracle.errors import KeyUnavailable
from oracle.evidence import EvidenceStore
from oracle.node import MeasurementRequest, OracleNode
from oracle.signer import OracleSigner, create_keystore, read_password
from oracle.spec import load_spec

SPEC = load_spec(
    json.dumps(
        {
            "name": "model accuracy in production",
            "version": 1,
            "unit": "fraction",
            "decimals": 4,
            "higher_is_better": True,
            "source": {"kind": "model_eval", "path": "predictions.jsonl", "metric": "accuracy"},
        }
    )
)


@pytest.mark.slow  # scrypt at its full cost
def test_keystore_round_trip_and_a_wrong_password(tmp_path, monkeypatch):
    path = tmp_path / "oracle.json"
    address = create_keystore(path, "correct horse")
    assert OracleSigner.from_keystore(path, "correct horse").address == address
    with pytest.raises(KeyUnavailable, match="wrong password"):
        OracleSigner.from_keystore(path, "battery staple")
    (tmp_path / "pw").write_text("correct horse\n")
    assert read_password(tmp_path / "pw") == "correct horse"
    monkeypatch.setenv("ORACLE_KEYSTORE_PASSWORD", "from env")
    assert read_password() == "from env"


def test_a_plain_key_only_in_development_mode_and_never_shown():
    key = "0x" + "11" * 32
    with pytest.raises(KeyUnavailable, match="development mode"):
        OracleSigner.from_dev_key(key, dev_mode=False)
    signer = OracleSigner.from_dev_key(key, dev_mode=True)
    assert "11" * 8 not in repr(signer) and "11" * 8 not in str(vars(signer).get("address"))


def _nodes(chain, tmp_path, accuracies: list[int]) -> list[OracleNode]:
    """One node per oracle key, each with its own copy of the predictions (`correct` of 100 right)."""
    nodes = []
    for oracle, correct in zip(chain.oracles, accuracies, strict=True):
        data = tmp_path / oracle.address
        data.mkdir()
        rows = [{"time": 1, "prediction": 1, "label": 1 if i < correct else 0} for i in range(100)]
        (data / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        signer = OracleSigner.from_dev_key(oracle.key, dev_mode=True)
        nodes.append(OracleNode(signer, data, EvidenceStore(data / "evidence"), chain.chain_id, chain.escrow.address))
    return nodes


def _agreement(chain, threshold: int):
    ms = [milestone(chain, metric_id=SPEC.metric_id)]
    agreement = terms(chain, chain.token.address, ms, threshold=threshold)
    return agreement, ms, create_and_fund(chain, agreement, ms)


def _gathered(nodes: list[OracleNode], request: MeasurementRequest, threshold: int):
    """What the backend's fan-out does: each node measures and signs its own attestation; the
    first digest `threshold` nodes signed wins, its signatures packed as the escrow wants them."""
    by_attestation: dict = {}
    for node in nodes:
        att = node.propose(request)
        by_attestation.setdefault(att, []).append(
            (node.address, node.signer.sign_attestation(att, node.chain_id, node.escrow))
        )
    att, signed = max(by_attestation.items(), key=lambda item: len(item[1]))
    signed = sorted(signed[:threshold], key=lambda pair: int(pair[0], 16))
    return att, [a for a, _ in signed], typed_data.pack_signatures(signed), len(by_attestation)


def _settle(chain, agreement, ms, att, signatures):
    call = chain.escrow.functions.settleMilestonePacked(
        settlement.pack(agreement, ms[0], typed_data.milestone_proof(ms, 0), att, signatures)
    )
    return send(chain, call, chain.relayer.address)


@pytest.mark.parametrize("threshold", [1, 2])
def test_signatures_of_independent_nodes_settle_on_chain(chain, tmp_path, threshold):
    agreement, ms, agreement_id = _agreement(chain, threshold)
    request = MeasurementRequest(agreement_id, 0, SPEC, chain.now(), chain.now() + 3600)
    att, signers, signatures, _ = _gathered(_nodes(chain, tmp_path, [93, 93, 93]), request, threshold)
    assert att.value == 9300 and len(signers) == threshold
    _settle(chain, agreement, ms, att, signatures)
    expected = payout.compute(ms[0], 9300, request.observed_at)
    assert chain.token.functions.balanceOf(chain.provider.address).call() == expected.paid_now


def test_a_node_that_measures_otherwise_signs_another_digest_and_never_the_majoritys(chain, tmp_path):
    agreement, ms, agreement_id = _agreement(chain, 2)
    request = MeasurementRequest(agreement_id, 0, SPEC, chain.now(), chain.now() + 3600)
    nodes = _nodes(chain, tmp_path, [93, 91, 93])
    att, signers, signatures, attestations = _gathered(nodes, request, 2)
    assert attestations == 2 and att.value == 9300
    assert signers == sorted((nodes[0].address, nodes[2].address), key=lambda a: int(a, 16))
    assert nodes[1].propose(request).value == 9100


def test_a_tampered_value_is_refused_by_the_contract(chain, tmp_path):
    agreement, ms, agreement_id = _agreement(chain, 2)
    request = MeasurementRequest(agreement_id, 0, SPEC, chain.now(), chain.now() + 3600)
    att, signers, signatures, _ = _gathered(_nodes(chain, tmp_path, [91, 91, 91]), request, 2)
    forged = replace(att, value=9700)
    call = chain.escrow.functions.settleMilestonePacked(
        settlement.pack(agreement, ms[0], typed_data.milestone_proof(ms, 0), forged, signatures)
    )
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the provider decides the type; the data decides the test
        call.call({"from": chain.relayer.address})
    error = decode_revert(chain.escrow.abi, revert_data(refused.value))
    assert error.name == "SignerNotInOracleSet" and error.args[0] not in signers
    assert chain.token.functions.balanceOf(chain.provider.address).call() == 0
