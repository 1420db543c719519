"""Hostile JSON against the API as an attacker sends it: the served process survives a body
nested 100,000 deep on every operation that takes a body (the body is read before the caller is
known, so every such operation is open to anyone); NaN, Infinity, non-UTF-8 bytes, NUL and lone
surrogates are refused with a reason on both databases."""

from __future__ import annotations

import json
import os
import sys

import httpx
import pytest
from backend_support import served_env
from factories import agreement_body
from process_support import body_operations, deep_json, serving

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def served_api(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hostile-api")
    env = served_env(workdir, migrate_on_start="false")
    command = [sys.executable, "-m", "uvicorn", "backend.api.app:create_app", "--factory", "--port", "{port}"]
    with serving(command, env, ROOT, workdir / "api.log") as (process, url):
        yield process, url


@pytest.mark.slow  # a served API process
def test_deep_json_to_every_operation_leaves_the_process_answering(served_api):
    process, url = served_api
    operations = body_operations(url)
    assert ("POST", "/v1/auth/sign-in") in operations and len(operations) >= 15
    body = deep_json()
    with httpx.Client(base_url=url, timeout=30) as http:
        for method, path in operations:
            response = http.request(method, path, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code in (400, 413), (method, path, response.status_code)
            assert len(response.content) < 300 and b'{"a":{"a"' not in response.content
        assert http.get("/healthz").status_code == 200
    assert process.poll() is None


@pytest.mark.slow  # a served API process
def test_a_deep_body_within_the_size_cap_is_refused_for_its_depth(served_api):
    _, url = served_api
    response = httpx.post(url + "/v1/auth/sign-in", content=b"[" * 4_000 + b"]" * 4_000, timeout=30)
    assert response.status_code == 400
    assert response.json() == {"detail": "the JSON nests deeper than 32 levels", "error": "InvalidBody"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"message": NaN, "signature": "0x"}', "NaN and Infinity are not JSON numbers"),
        (b'{"message": -Infinity}', "NaN and Infinity are not JSON numbers"),
        (b'{"message": "\xff\xfe"}', "the body is not UTF-8"),
    ],
)
def test_nan_infinity_and_bytes_that_are_not_utf8_are_refused_unauthenticated(api, body, reason):
    response = api.client.post("/v1/auth/sign-in", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"detail": reason, "error": "InvalidBody"})


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("a\\u0000b", "text holds a NUL character (\\u0000)"),
        ("a\\ud800b", "text holds an unpaired UTF-16 surrogate"),
        ("a\\udfffb", "text holds an unpaired UTF-16 surrogate"),
    ],
)
def test_text_a_database_cannot_store_is_refused(api, title, reason):
    """A NUL or a lone surrogate in a title made PostgreSQL fail the insert (a 500)."""
    client = api.sign_in(api.chain.client)
    body = json.dumps(agreement_body(api.chain)).replace('"title": "', f'"title": "{title}', 1)
    response = api.client.post("/v1/agreements", content=body, headers=client | {"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"detail": reason, "error": "InvalidBody"})


def test_a_paired_surrogate_is_text_like_any_other(api):
    client = api.sign_in(api.chain.client)
    body = json.dumps(agreement_body(api.chain)).replace('"title": "', '"title": "\\ud83d\\ude00 ', 1)
    response = api.client.post("/v1/agreements", content=body, headers=client | {"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["title"].startswith("\U0001f600 ")
