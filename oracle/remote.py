"""Another oracle node reached over its HTTP service; the coordinator drives it exactly like a
local `OracleNode` (`address`, `propose`, `cosign`)."""

from __future__ import annotations

from functools import cached_property

import requests

from attestpay.terms import Attestation
from oracle.coordinator import MeasurementRequest
from oracle.errors import RefusedToSign, SourceError


class RemoteNode:
    def __init__(self, url: str, api_key: str, session: requests.Session | None = None) -> None:
        self.url, self._headers = url.rstrip("/"), {"X-API-Key": api_key}
        self._http = session or requests.Session()

    @cached_property
    def address(self) -> str:
        return self._http.get(f"{self.url}/healthz", timeout=10).json()["signer"]

    def propose(self, request: MeasurementRequest) -> Attestation:
        body = {
            "agreement_id": "0x" + request.agreement_id.hex(),
            "milestone_index": request.milestone_index,
            "spec": request.spec.model_dump(mode="json"),
            "observed_at": request.observed_at,
            "valid_for": request.expires_at - request.observed_at,
        }
        return Attestation.from_json(self._post("/v1/measurements", body)["attestation"])

    def cosign(self, attestation: Attestation, request: MeasurementRequest) -> bytes:
        body = {
            "spec": request.spec.model_dump(mode="json"),
            "agreement_id": "0x" + attestation.agreement_id.hex(),
            "milestone_index": attestation.milestone_index,
            "value": attestation.value,
            "observed_at": attestation.observed_at,
            "evidence_hash": "0x" + attestation.evidence_hash.hex(),
            "expires_at": attestation.expires_at,
        }
        return bytes.fromhex(self._post("/v1/cosign", body)["signature"][2:])

    def _post(self, path: str, body: dict) -> dict:
        response = self._http.post(f"{self.url}{path}", json=body, headers=self._headers, timeout=60)
        if response.status_code == 409:
            raise RefusedToSign(response.json()["detail"])
        if response.status_code != 200:
            raise SourceError(f"{self.url}{path} answered {response.status_code}: {response.text[:200]}")
        return response.json()
