"""The auditor: re-verifies every payout of an escrow from chain data and published evidence
alone, never from the backend's database (`python -m auditor`, `attestpay-audit`, the backend's
`GET /v1/audit`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from web3 import Web3


def audit(
    w3: Web3,
    escrow: str,
    start_block: int = 0,
    evidence: Path | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    anchor_window: float | None = None,
) -> dict:
    """The JSON report (`auditor.report.as_json`) of every agreement on `escrow`."""
    from auditor import history as chain_history
    from auditor.checks import Auditor
    from auditor.report import as_json
    from oracle.evidence import EvidenceStore

    history = chain_history.read(w3, escrow, start_block, progress)
    return as_json(history, Auditor(history, EvidenceStore(evidence) if evidence else None, anchor_window).run(w3))
