"""A service as its users meet it: a real process on a free port, asked over HTTP."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from attestpay.devchain import free_port

DEEP = 100_000  # nesting levels: a ~200 KB body that killed the process with a segfault


def deep_json() -> bytes:
    return b'{"a":' * DEEP + b"1" + b"}" * DEEP


@contextmanager
def serving(command: list[str], env: dict, cwd: Path, log: Path, startup_seconds: float = 120) -> Iterator[tuple]:
    """Runs `command` (given "{port}" where its port goes) until /healthz answers 200; yields the
    process and its base URL, and stops the process after."""
    port = free_port()
    args = [a.replace("{port}", str(port)) for a in command]
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[:4]} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield process, url
    finally:
        process.terminate()
        process.wait(timeout=30)


def body_operations(url: str) -> list[tuple[str, str]]:
    """(method, path) of every operation of the service's OpenAPI document that takes a body,
    with 1 for each path parameter."""
    document = json.loads(httpx.get(url + "/openapi.json", timeout=10).content)
    return [
        (method.upper(), _filled(path))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]


def _filled(path: str) -> str:
    return "/".join("1" if part.startswith("{") else part for part in path.split("/"))
