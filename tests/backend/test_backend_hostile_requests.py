"""Requests an attacker sends, each of which once answered 500 or let one caller burden others:
oversized bodies (413, never echoed), huge inputs in a 422 (not echoed), schema bounds in the
OpenAPI document, a stranger's drafts in someone's list, typed data of a draft, a service key
withdrawing, a database that is down (503), and 405 naming every method of the path."""

from __future__ import annotations

import json

import pytest
from backend_support import OPERATOR_KEY, Api
from eth_account import Account
from factories import agreement_body

from attestpay.devchain import free_port

JSON = {"Content-Type": "application/json"}


def test_a_body_over_the_route_limit_is_413_and_never_echoed(api):
    client = api.sign_in(api.chain.client)
    huge = b'{"title": "' + b"A" * (20 * 1024 * 1024) + b'"'  # 20 MiB and malformed: once echoed whole in a 422
    for path, headers in (("/v1/agreements", client), ("/v1/auth/sign-in", {}), ("/v1/webhooks", client)):
        response = api.client.post(path, content=huge, headers=headers | JSON)
        assert response.status_code == 413, path
        assert response.json()["error"] == "PayloadTooLarge" and len(response.content) < 200


def test_each_route_has_its_own_limit(api):
    client = api.sign_in(api.chain.client)
    body = agreement_body(api.chain)
    body["documents"] = [{"name": "x" * 200, "hash": "0x" + "ab" * 32, "uri": "u" * 500}] * 50  # ~40 KB of terms
    padded = json.dumps(body) + " " * 80_000  # over the 64 KiB of other routes, under the 256 KiB of terms
    assert api.client.post("/v1/agreements", content=padded, headers=client | JSON).status_code == 201
    assert api.client.post("/v1/webhooks", content=padded, headers=client | JSON).status_code == 413
    sign_in = json.dumps({"message": "m", "signature": "0x" + "00" * 65}) + " " * 9_000
    assert api.client.post("/v1/auth/sign-in", content=sign_in, headers=JSON).status_code == 413


def test_a_422_repeats_no_large_input(api):
    client = api.sign_in(api.chain.client)
    body = agreement_body(api.chain) | {"title": "T" * 60_000}
    response = api.client.post("/v1/agreements", json=body, headers=client)
    assert response.status_code == 422 and "TTTT" not in response.text and len(response.content) < 1_000
    assert response.json()["detail"][0]["loc"] == ["body", "title"]
    short = api.client.post("/v1/agreements", json=agreement_body(api.chain) | {"threshold": "three"}, headers=client)
    assert short.status_code == 422 and short.json()["detail"][0]["input"] == "three"  # short inputs help


def test_every_string_and_list_of_a_request_body_is_bounded_in_the_openapi_document(api):
    document = api.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    unbounded = []

    def walk(schema: dict, where: str) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                walk(schemas[name], name)
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for i, option in enumerate(schema.get(key, [])):
                walk(option, f"{where}|{i}")
        if schema.get("type") == "string" and "maxLength" not in schema and "enum" not in schema:
            if "const" not in schema and schema.get("format") != "binary":
                unbounded.append(where)
        if schema.get("type") == "array":
            if "maxItems" not in schema:
                unbounded.append(where)
            walk(schema["items"], where + "[]")
        for name, prop in schema.get("properties", {}).items():
            walk(prop, f"{where}.{name}")

    seen: set[str] = set()
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"]
        for item in document["paths"].values()
        for op in item.values()
        if "requestBody" in op
    ]
    assert len(bodies) >= 15
    for body in bodies:
        walk(body, "body")
    assert unbounded == []


def test_a_strangers_draft_naming_you_stays_out_of_your_list(api):
    chain = api.chain
    stranger = Account.create()
    draft = agreement_body(chain) | {"provider": stranger.address}
    headers = api.sign_in(type(chain.client)(stranger.address, stranger.key.hex()))
    created = api.client.post("/v1/agreements", json=draft, headers=headers)
    assert created.status_code == 201
    client = api.sign_in(chain.client)
    assert api.client.get("/v1/agreements", headers=client).json() == []
    assert api.client.get(f"/v1/agreements/{created.json()['id']}", headers=client).status_code == 200
    assert [a["id"] for a in api.client.get("/v1/agreements", headers=headers).json()] == [created.json()["id"]]
    api.client.post(f"/v1/agreements/{created.json()['id']}/propose", headers=headers)
    assert [a["status"] for a in api.client.get("/v1/agreements", headers=client).json()] == ["proposed"]


def test_typed_data_of_a_draft_is_409(api):
    client = api.sign_in(api.chain.client)
    pk = api.client.post("/v1/agreements", json=agreement_body(api.chain), headers=client).json()["id"]
    response = api.client.get(f"/v1/agreements/{pk}/typed-data", headers=client)
    assert response.status_code == 409 and "draft" in response.json()["detail"]


def test_a_service_key_withdrawing_is_403(api):
    worker = api.api_key("a-worker", "worker")
    response = api.client.post("/v1/transactions/withdraw", json={}, headers=worker)
    assert response.status_code == 403 and "wallet" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/v1/webhooks", "GET, HEAD, POST"),
        ("DELETE", "/v1/agreements/1", "GET, HEAD, PUT"),
        ("PUT", "/v1/auth/nonce", "POST"),
    ],
)
def test_405_names_every_method_of_the_path(api, method, path, allowed):
    response = api.client.request(method, path)
    assert (response.status_code, response.headers["Allow"]) == (405, allowed)


def test_a_database_that_does_not_answer_is_503(chain):
    down = Api(chain, f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none", database_pool_size=1)
    for response in (
        down.client.get("/healthz"),
        down.client.get("/v1/agreements", headers={"X-API-Key": "ap_" + "x" * 40}),
        down.client.post("/v1/api-keys", json={"name": "n", "role": "oracle"}, headers={"X-API-Key": OPERATOR_KEY}),
        down.client.post("/v1/auth/nonce"),
    ):
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "DatabaseUnavailable" and response.headers["Retry-After"] == "1"
