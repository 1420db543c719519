"""The oracle node's HTTP service: the backend asks it to measure and sign a milestone's metric,
other nodes' coordinators ask it to co-sign, anyone with the key fetches inclusion proofs.
Every request needs the node's API key (`X-API-Key`). Signed attestations are pushed to the
backend when one is configured."""

from __future__ import annotations

import hmac
import time
from typing import Annotated

import requests
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from attestpay import typed_data
from attestpay.bodyguard import BodyGuard
from attestpay.process import restore_recursion_limit
from attestpay.terms import Attestation
from oracle.batcher import AnchorQueue
from oracle.coordinator import MeasurementRequest, OracleNode
from oracle.errors import OracleError, RefusedToSign, SourceError
from oracle.spec import MetricSpec

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
MAX_BODY_BYTES = 65_536  # a metric spec and a few numbers
MAX_JSON_DEPTH = 32


class MeasureBody(BaseModel):
    agreement_id: Hex32
    milestone_index: int = Field(ge=0)
    spec: MetricSpec
    observed_at: int | None = Field(default=None, ge=0, description="default: now")
    valid_for: int = Field(default=86_400, gt=0)


class CosignBody(BaseModel):
    spec: MetricSpec
    agreement_id: Hex32
    milestone_index: int = Field(ge=0)
    value: int
    observed_at: int = Field(ge=0)
    evidence_hash: Hex32
    expires_at: int = Field(ge=0)


class BackendPush:
    """POSTs each signed attestation to the backend's intake, retrying briefly; never raises."""

    def __init__(self, url: str, api_key: str, retry_delays: tuple[float, ...] = (0.2, 0.5)) -> None:
        self.url, self.api_key, self.retry_delays = url.rstrip("/") + "/v1/attestations", api_key, retry_delays

    def push(self, signed: dict) -> str | None:
        """None when delivered, else why not (the caller reports it; the signature is not lost)."""
        failure = "not attempted"
        for delay in (0.0, *self.retry_delays):
            time.sleep(delay)
            try:
                response = requests.post(self.url, json=signed, headers={"X-API-Key": self.api_key}, timeout=10)
                if response.status_code < 300:
                    return None
                failure = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                failure = type(exc).__name__
        return f"push to {self.url} failed: {failure}"


def _signed_json(att: Attestation, digest: bytes, signer: str, signature: bytes) -> dict:
    return {
        "attestation": att.to_json(),
        "digest": "0x" + digest.hex(),
        "signer": signer,
        "signature": "0x" + signature.hex(),
    }


def create_app(node: OracleNode, queue: AnchorQueue, api_key: str, backend: BackendPush | None = None) -> FastAPI:
    if len(api_key) < 16:
        raise OracleError("the oracle's API key must be at least 16 characters")
    restore_recursion_limit()
    app = FastAPI(title="AttestPay oracle node", version="1")
    app.add_middleware(BodyGuard, max_bytes=lambda _method, _path: MAX_BODY_BYTES, max_depth=MAX_JSON_DEPTH)

    def authorized(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), api_key.encode()):
            raise HTTPException(401, "missing or wrong X-API-Key")

    guarded = [Depends(authorized)]

    def _queued(att: Attestation) -> bytes:
        """Every attestation this node signs goes into its next anchoring batch."""
        digest = typed_data.attestation_digest(att, node.chain_id, node.escrow)
        queue.add(digest)
        return digest

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "signer": node.address}

    @app.post("/v1/measurements", dependencies=guarded)
    def measure_and_sign(body: MeasureBody) -> dict:
        """Measure the metric for a milestone now (or at `observed_at`) and sign what was measured."""
        at = body.observed_at if body.observed_at is not None else int(time.time())
        request = MeasurementRequest(
            bytes.fromhex(body.agreement_id[2:]), body.milestone_index, body.spec, at, at + body.valid_for
        )
        try:
            measured = node.measure(request)
        except SourceError as exc:
            raise HTTPException(503, f"the source could not be measured: {exc}") from None
        att = node.attestation(request, measured)
        digest = _queued(att)
        signed = _signed_json(att, digest, node.address, node.signer.sign_digest(digest))
        signed["pushError"] = backend.push(signed) if backend else None
        return signed | {"used": measured.used, "ignored": measured.ignored}

    @app.post("/v1/cosign", dependencies=guarded)
    def cosign(body: CosignBody) -> dict:
        """Sign another node's attestation only if this node measures exactly the same."""
        att = Attestation(
            bytes.fromhex(body.agreement_id[2:]),
            body.milestone_index,
            body.spec.metric_id,
            body.value,
            body.observed_at,
            bytes.fromhex(body.evidence_hash[2:]),
            body.expires_at,
        )
        request = MeasurementRequest(att.agreement_id, att.milestone_index, body.spec, att.observed_at, att.expires_at)
        try:
            signature = node.cosign(att, request)
        except RefusedToSign as exc:
            raise HTTPException(409, str(exc)) from None
        except SourceError as exc:
            raise HTTPException(503, f"the source could not be measured: {exc}") from None
        return _signed_json(att, _queued(att), node.address, signature)

    @app.get("/v1/proofs/{digest}", dependencies=guarded)
    def proof(digest: Hex32) -> dict:
        try:
            root, path = queue.proof(bytes.fromhex(digest[2:]))
        except OracleError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"root": "0x" + root.hex(), "proof": ["0x" + p.hex() for p in path]}

    return app
