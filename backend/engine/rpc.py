"""Calls to the node for the engine: under the chain's lock, with transport faults (timeouts,
dropped connections, HTTP errors, garbled or internal-error replies) retried a few times with a
short backoff before they become ChainUnavailable (the node fault the API answers 503 for), which
the caller retries later. Every call the engine makes is safe to repeat: reads, and broadcasts of
bytes already signed."""

from __future__ import annotations

import time

from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound

from backend.chain import ChainGateway
from backend.errors import ChainUnavailable

ATTEMPTS = 3
BACKOFF_SECONDS = 0.05
PASSED_ON = (TransactionNotFound, BlockNotFound, ContractLogicError)  # answers, not faults


def call(chain: ChainGateway, do, passed_on: tuple[type[Exception], ...] = PASSED_ON, answer=None):
    """`do(w3)`, retried on faults. Exceptions of `passed_on` reach the caller at once, as does any
    exception for which `answer(exc)` is true (a JSON-RPC error the node meant)."""
    for attempt in range(ATTEMPTS):
        with chain.lock:
            try:
                return do(chain.w3)
            except passed_on:
                raise
            except Exception as exc:  # every provider raises its own kinds
                if answer is not None and answer(exc):
                    raise
                fault = exc
        time.sleep(BACKOFF_SECONDS * 2**attempt)
    raise ChainUnavailable(f"{type(fault).__name__}: {fault}") from None


def block_hash(chain: ChainGateway, number: int) -> str | None:
    """The chain's hash at `number`; None past the head (a reorganisation may shorten the chain)."""

    def ask(w3) -> str | None:
        try:
            return "0x" + bytes(w3.eth.get_block(number)["hash"]).hex()
        except BlockNotFound:
            return None

    return call(chain, ask)
