"""SimulatedDeal design: the billing canvas as a document, its payout simulated for both parties before
anyone signs (docs/design.md). Pure: documents and numbers in, figures out; no I/O."""

from __future__ import annotations


class DesignError(ValueError):
    """A design document, a history or a request the design tools cannot use; the message says
    what to change, naming the field."""
