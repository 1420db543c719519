"""The terms file's JSON Schema and the token registry: what a person writes and reads amounts in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from attestpay.terms_file import schema
from attestpay.tokens import AmountError
from backend.api.deps import ChainDep
from backend.errors import InvalidInput

router = APIRouter(tags=["terms"])
Address = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")]


@router.get("/v1/terms/schema")
def terms_schema() -> dict:
    """The JSON Schema of a terms file (`attestpay terms check`, docs/terms.md); no sign-in needed."""
    return schema()


@router.get("/v1/tokens/{address}")
def token(address: Address, chain: ChainDep) -> dict:
    """A token's symbol and decimals (the zero address: ETH), read from the chain once."""
    try:
        return chain.token(address).as_json()
    except AmountError as exc:
        raise InvalidInput(str(exc), field="address") from None
