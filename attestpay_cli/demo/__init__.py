"""`attestpay demo`: the four agreements of the business background played end to end on the
embedded chain, the backend on SQLite and three oracle nodes, all in this process; then every
payout re-verified by the independent auditor from chain data and published evidence."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from attestpay.tokens import TokenRegistry
from auditor import audit
from auditor.history import read
from auditor.report import as_html


def play(workdir: Path, progress: Callable[[str], None] = lambda line: None) -> dict:
    """The demo's document (see `account`); writes the database, evidence, oracle queues, the audit
    report (`audit.json`, `audit.html`) and the finance documents (`documents/`) under `workdir`."""
    from attestpay_cli.demo import account, documents
    from attestpay_cli.demo.scenarios import SCENARIOS
    from attestpay_cli.demo.stage import Stage

    workdir.mkdir(parents=True, exist_ok=True)
    progress("starting the embedded chain, the backend and three oracle nodes")
    stage = Stage(workdir)
    try:
        played = []
        for number, scenario in enumerate(SCENARIOS, 1):
            progress(f"[{number}/{len(SCENARIOS)}] {scenario.__doc__.split(':')[0].strip()}")
            played.append(scenario(stage))
        progress("the oracles anchor their batches; the auditor re-verifies every payout")
        anchoring = stage.anchor()
        report = audit(stage.w3, stage.escrow.address, stage.start_block, stage.evidence.root)
        (workdir / "audit.json").write_text(json.dumps(report, indent=2))
        agreements = [stage.agreement(p.pk) for p in played]
        titles = {a["agreement_id"]: a["title"] for a in agreements}
        (workdir / "audit.html").write_text(as_html(report, titles, TokenRegistry(stage.w3)))
        progress("the parties sign their profiles; invoices and journals are written to documents/")
        finance = documents.write(stage, [p.pk for p in played], workdir)
        events = read(stage.w3, stage.escrow.address, stage.start_block).events
        return {
            "chain": {
                "chainId": stage.chain.chain_id,
                "escrow": stage.escrow.address,
                "registry": stage.chain.registry.address,
                "token": stage.token.address,
                "embedded": True,
            },
            "scenarios": [account.scenario(stage, p, events) for p in played],
            "anchoring": anchoring,
            "audit": report,
            "documents": finance,
            "workdir": str(workdir),
        }
    finally:
        stage.close()
