"""GET /v1/evidence/{digest}: the published evidence served to any signed-in caller, checked
against its hash; missing, altered and unpublished evidence get a reason."""

from __future__ import annotations

from backend_support import Api
from eth_utils import keccak

from oracle.evidence import EvidenceStore


def test_evidence_is_served_by_its_hash_and_never_when_altered(chain, database_url, tmp_path):
    store = EvidenceStore(tmp_path / "evidence")
    digest = "0x" + store.put(b'{"time": 1, "prediction": 1, "label": 1}\n').hex()
    api = Api(chain, database_url, evidence_dir=store.root)
    wallet = api.sign_in(chain.client)

    served = api.client.get(f"/v1/evidence/{digest}", headers=wallet)
    assert served.status_code == 200 and keccak(served.content).hex() == digest[2:]
    assert api.client.get(f"/v1/evidence/{digest}").status_code == 401
    missing = api.client.get("/v1/evidence/0x" + "ab" * 32, headers=wallet)
    assert missing.status_code == 404 and "no evidence" in missing.json()["detail"]

    path = store.root / digest[2:4] / digest[2:]
    path.write_bytes(path.read_bytes().replace(b'"label": 1', b'"label": 0'))
    altered = api.client.get(f"/v1/evidence/{digest}", headers=wallet)
    assert altered.status_code == 409 and "was altered" in altered.json()["detail"]

    unpublished = Api(chain, database_url).client.get(f"/v1/evidence/{digest}", headers=wallet)
    assert unpublished.status_code == 404 and "ATTESTPAY_EVIDENCE_DIR" in unpublished.json()["detail"]
