"""Revert data decoded to the contract's custom error, so callers can say what went wrong."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_abi import decode
from eth_utils import keccak, to_checksum_address


@dataclass(frozen=True)
class CustomError:
    name: str
    args: tuple

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"

    def reason(self) -> str | None:
        """What the error means to a party, in words (milestones counted from 1, times as dates);
        None for an error that only a caller of ours could cause, or arguments that do not fit."""
        sentence = _SENTENCES.get(self.name)
        try:
            return sentence(*self.args) if sentence else None
        except (IndexError, OverflowError, OSError, TypeError, ValueError):
            return None


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


_PHASES = (
    "not created",
    "awaiting the provider's consent",
    "awaiting the client's consent",
    "awaiting funds",
    "active",
    "cancelled",
)
_STATUSES = ("open", "disputed", "settled", "closed")
# The escrow's errors a party meets (IMilestoneEscrow.sol); index arguments count from 0 there.
_SENTENCES: dict[str, Callable[..., str]] = {
    "UnknownAgreement": lambda _id: "the agreement is not on the chain",
    "WrongPhase": lambda _id, phase: f"the agreement is {_PHASES[phase]} on the chain",
    "Unauthorized": lambda caller: f"{caller} may not take this step: the agreement names another party for it",
    "MilestoneIndexOutOfRange": lambda index, count: f"there is no milestone {index + 1}: the agreement has {count}",
    "WrongMilestoneStatus": lambda index, status: f"milestone {index + 1} is {_STATUSES[status]}",
    "ClientApprovalMissing": lambda index: f"milestone {index + 1} needs the client's approval first",
    "PartialResultNotAccepted": lambda value, target: (
        f"the measured value {value} is short of the target {target}: only the provider may settle it"
    ),
    "AttestationExpired": lambda expires_at: f"the attestation expired on {_date(expires_at)}",
    "AttestationFromFuture": lambda observed_at: (
        f"the attestation is dated {_date(observed_at)}, after the chain's clock"
    ),
    "NotEnoughSignatures": lambda given, threshold: (
        f"{given} oracle signature{'' if given == 1 else 's'} where the agreement needs {threshold}"
    ),
    "RevokedSignature": lambda signer: f"oracle {signer} revoked its signature of this attestation",
    "ReclaimTooEarly": lambda after: f"the client may reclaim only after {_date(after)} (deadline and cure window)",
    "NoHoldback": lambda index: f"milestone {index + 1} holds nothing back: none was agreed, or it was paid out",
    "HoldbackNotDue": lambda release_at: f"the holdback is due on {_date(release_at)}",
    "HoldbackDisputed": lambda index: f"the holdback of milestone {index + 1} is disputed: the arbiter decides",
    "NothingToDispute": lambda index: f"milestone {index + 1} has nothing left to dispute",
    "NotDisputed": lambda index: f"milestone {index + 1} is not disputed",
    "DeadlineInPast": lambda index, deadline: f"the deadline of milestone {index + 1}, {_date(deadline)}, has passed",
    "NothingToWithdraw": lambda _token, account: f"{account} has nothing credited to withdraw in this token",
}


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
