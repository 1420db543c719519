"""Path parameters the routers share: one definition of what a valid id or index is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from attestpay.payout import MAX_MILESTONES

RowId = Annotated[int, Path(ge=1, lt=2**63)]  # a row's id: positive, and within a signed 64-bit column
MilestoneIndex = Annotated[int, Path(ge=0, lt=MAX_MILESTONES)]
