"""GET /v1/evidence/{digest}: the published evidence, checked against its hash, served to whom it
concerns: the agreement's parties and oracles (its attestations' evidence and its metric specs),
auditor and operator keys; refused to a stranger's fresh wallet and to other service keys."""

from __future__ import annotations

import pytest
from backend_support import OPERATOR_KEY, Api
from eth_account import Account
from eth_utils import keccak
from factories import agreement_body

from oracle.evidence import EvidenceStore
from oracle.spec import MetricSpec

EVIDENCE = b'{"time": 1, "prediction": 1, "label": 1}\n'


@pytest.fixture
def published(chain, database_url, tmp_path):
    """An agreement with an attestation whose evidence and metric spec are published."""
    store = EvidenceStore(tmp_path / "evidence")
    api = Api(chain, database_url, evidence_dir=store.root)
    agreement, client, provider = api.consented(agreement_body(chain) | {"arbiter": chain.arbiter.address})
    evidence = "0x" + store.put(EVIDENCE).hex()
    spec = "0x" + store.put(MetricSpec.model_validate(agreement["milestones"][0]["spec"]).canonical()).hex()
    assert spec == agreement["milestones"][0]["metric_id"]
    api.push(
        api.api_key("oracle-node", "oracle"),
        agreement,
        0,
        9300,
        chain.oracles[:1],
        evidence=bytes.fromhex(evidence[2:]),
    )
    return api, store, {"evidence": evidence, "spec": spec}, {"client": client, "provider": provider}


def callers(api: Api, parties: dict) -> dict[str, dict]:
    chain = api.chain
    stranger = Account.create()
    return parties | {
        "arbiter": api.sign_in(chain.arbiter),
        "oracle": api.sign_in(chain.oracles[0]),
        "auditor": api.api_key("auditor", "auditor"),
        "operator": {"X-API-Key": OPERATOR_KEY},
        "stranger": api.sign_in(type(chain.client)(stranger.address, stranger.key.hex())),
        "oracle-key": api.api_key("oracle-service", "oracle"),
        "worker-key": api.api_key("worker", "worker"),
    }


def test_evidence_is_readable_by_parties_oracles_and_auditors_only(published):
    api, _, digests, parties = published
    for role, headers in callers(api, parties).items():
        for kind, digest in digests.items():
            response = api.client.get(f"/v1/evidence/{digest}", headers=headers)
            if role in ("stranger", "oracle-key", "worker-key"):
                assert response.status_code == 403, (role, kind)
            else:
                assert response.status_code == 200, (role, kind, response.text)
                assert keccak(response.content).hex() == digest[2:]
    assert api.client.get(f"/v1/evidence/{digests['evidence']}").status_code == 401


def test_evidence_is_served_by_its_hash_and_never_when_altered(published, chain, database_url):
    api, store, digests, parties = published
    client, digest = parties["client"], digests["evidence"]
    auditor = api.api_key("auditor", "auditor")
    missing = api.client.get("/v1/evidence/0x" + "ab" * 32, headers=auditor)
    assert missing.status_code == 404 and "no evidence" in missing.json()["detail"]
    assert api.client.get("/v1/evidence/0x" + "ab" * 32, headers=client).status_code == 403  # nothing told to others

    path = store.root / digest[2:4] / digest[2:]
    path.write_bytes(path.read_bytes().replace(b'"label": 1', b'"label": 0'))
    altered = api.client.get(f"/v1/evidence/{digest}", headers=client)
    assert altered.status_code == 409 and "was altered" in altered.json()["detail"]

    unpublished = Api(chain, database_url).client.get(f"/v1/evidence/{digest}", headers=client)
    assert unpublished.status_code == 404 and "ATTESTPAY_EVIDENCE_DIR" in unpublished.json()["detail"]
