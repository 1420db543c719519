"""Oracle benchmark: attestation verifications per second (EIP-712 digest + recovery + the escrow's
signer rules) on one and two cores, signatures per second, and the plain eth-account paths
(`Account.recover_message(encode_typed_data(...))`, `Account.sign_typed_data`) measured in the same run.
Writes bench/results/oracle.json."""

from __future__ import annotations

import json
import os
import time
from multiprocessing import Pool
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_typed_data

from attestpay import typed_data
from attestpay.terms import Attestation
from attestpay.verify import attestation_signers

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "oracle.json"
ESCROW = "0x" + "ab" * 20
CHAIN_ID = 31337
KEY = Account.from_key(b"\x5a" * 32)
ORACLES = (KEY.address,)
COUNT = 4000


def _attestations(n: int) -> list[Attestation]:
    return [
        Attestation(
            i.to_bytes(32, "big"), i % 7, b"\x02" * 32, 9000 + i, 1_700_000_000 + i, b"\x03" * 32, 1_800_000_000
        )
        for i in range(n)
    ]


def _verify_all(batch: list[tuple[Attestation, bytes]]) -> int:
    for att, sig in batch:
        attestation_signers(att, sig, ORACLES, 1, CHAIN_ID, ESCROW)
    return len(batch)


def _rate(n: int, seconds: float) -> int:
    return int(n / seconds)


def main() -> None:
    attestations = _attestations(COUNT)
    start = time.perf_counter()
    signed = [(a, typed_data.sign(KEY.key, typed_data.attestation_digest(a, CHAIN_ID, ESCROW))) for a in attestations]
    sign_per_s = _rate(COUNT, time.perf_counter() - start)

    start = time.perf_counter()
    _verify_all(signed)
    one_core = _rate(COUNT, time.perf_counter() - start)

    workers = min(2, os.cpu_count() or 1)
    with Pool(workers) as pool:
        pool.map(_verify_all, [signed[:10]] * workers)  # start the workers before timing
        start = time.perf_counter()
        total = sum(pool.map(_verify_all, [signed[i::workers] for i in range(workers)]))
        two_core = _rate(total, time.perf_counter() - start)

    plain = signed[:1000]
    start = time.perf_counter()
    for att, sig in plain:
        message = typed_data.typed_data("MetricAttestation", typed_data.attestation_message(att), CHAIN_ID, ESCROW)
        assert Account.recover_message(encode_typed_data(full_message=message), signature=sig) == KEY.address
    plain_per_s = _rate(len(plain), time.perf_counter() - start)

    start = time.perf_counter()
    for att, _ in plain:
        message = typed_data.typed_data("MetricAttestation", typed_data.attestation_message(att), CHAIN_ID, ESCROW)
        Account.sign_typed_data(KEY.key, full_message=message)
    plain_sign_per_s = _rate(len(plain), time.perf_counter() - start)

    results = {
        "verify_per_s_1core": one_core,
        "verify_per_s_2core": two_core,
        "sign_per_s": sign_per_s,
        "plain_verify_per_s": plain_per_s,
        "plain_sign_per_s": plain_sign_per_s,
    }
    print("| measure | per second | target |")
    print("| --- | ---: | ---: |")
    print(f"| verify, 1 core | {one_core:,} | 5,000 {'met' if one_core >= 5000 else 'MISSED'} |")
    print(f"| verify, {workers} cores | {two_core:,} | 9,000 {'met' if two_core >= 9000 else 'MISSED'} |")
    print(f"| sign | {sign_per_s:,} | |")
    print(f"| plain eth-account verify | {plain_per_s:,} | |")
    print(f"| plain eth-account sign | {plain_sign_per_s:,} | |")
    print(
        f"\nverification is {one_core / plain_per_s:.1f}x, "
        f"signing {sign_per_s / plain_sign_per_s:.1f}x the plain path on one core"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(RESULTS.parent.parent.parent)}")


if __name__ == "__main__":
    main()
