"""Revert data decoded to the contract's custom error, so callers can say what went wrong."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from eth_abi import decode
from eth_utils import keccak, to_checksum_address


@dataclass(frozen=True)
class CustomError:
    name: str
    args: tuple

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"


def decode_revert(abi: list[dict], data: bytes | str) -> CustomError | None:
    """The custom error of `abi` that `data` encodes, or None for anything else."""
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [i["type"] if i["type"] != "tuple" else _tuple_type(i) for i in item["inputs"]]
        if keccak(text=f"{item['name']}({','.join(types)})")[:4] == raw[:4]:
            values = decode(types, raw[4:])
            return CustomError(
                item["name"],
                tuple(to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=False)),
            )
    return None


def _tuple_type(component: dict) -> str:
    inner = [c["type"] if c["type"] != "tuple" else _tuple_type(c) for c in component["components"]]
    return f"({','.join(inner)})"


def revert_data(exc: BaseException) -> bytes | None:
    """The revert bytes behind a failed call: web3's ContractCustomError over JSON-RPC carries them
    as `data`; the embedded eth-tester chain raises TransactionFailed whose message is the bytes'
    repr (`execution reverted: b'...'`)."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    message = str(exc.args[0]) if exc.args else ""
    literal = message.removeprefix("execution reverted: ")
    if literal.startswith(("b'", 'b"')):
        return ast.literal_eval(literal)
    return None
