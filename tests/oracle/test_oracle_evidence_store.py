"""The evidence store shared by several oracle nodes: the same evidence stored at once by many
writers (the demo's three nodes measure the same file) ends as one intact file, and no writer fails."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from eth_utils import keccak

from oracle.evidence import EvidenceStore


def test_many_writers_of_the_same_evidence_all_succeed(tmp_path):
    blobs = [f"evidence {i}".encode() * 100 for i in range(200)]

    def writer(_: int) -> list[bytes]:
        store = EvidenceStore(tmp_path)  # each node has its own store on the shared directory
        return [store.put(blob) for blob in blobs]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(writer, range(8)))

    assert all(r == [keccak(b) for b in blobs] for r in results)
    store = EvidenceStore(tmp_path)
    assert [store.get(keccak(b)) for b in blobs] == blobs
    assert not list(tmp_path.rglob("*.tmp"))  # no writer left its temporary file behind
