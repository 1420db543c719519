"""The backend's access to the chain: the escrow's ready-to-sign transactions (with a gas estimate
or the decoded reason it would revert), receipts and their escrow events.

The embedded eth-tester chain runs in process (development and tests); any JSON-RPC URL with a
deployment file otherwise. The embedded chain is not thread-safe, so its calls go through one lock;
a node over HTTP takes concurrent calls (web3 keeps a session per thread), so it gets none.

A node that fails (a dropped connection, a timeout, an HTTP error, a JSON-RPC error of its own) is
`ChainUnavailable`, 503 with Retry-After: never mistaken for the escrow refusing the transaction.
web3 has already retried the transport faults of read calls by then."""

from __future__ import annotations

import json
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, TransactionNotFound, Web3RPCError
from web3.logs import DISCARD
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from attestpay import party_signatures, permits
from attestpay.contracts import contract_at, deploy, load_artifact
from attestpay.reverts import decode_revert, revert_data
from attestpay.tokens import Token, TokenRegistry
from backend.errors import ChainUnavailable, ContractRejected, InvalidInput, NotFound, Unauthenticated
from backend.settings import Settings

# The node's own JSON-RPC errors, and transport faults (HTTPProvider's are requests'; others raise the builtins).
NODE_FAULTS = (Web3RPCError, requests.RequestException, ConnectionError, TimeoutError)
# web3 retries read calls (its allowlist) on transport faults, but by default only on the builtin
# ConnectionError, which requests' ConnectionError (a dropped connection) is not.
READS_RETRIED = ExceptionRetryConfiguration(
    errors=(ConnectionError, requests.ConnectionError, requests.HTTPError, requests.Timeout),
    retries=5,
    backoff_factor=0.125,
)
ESCROW_EVENTS = (
    "AgreementCreated",
    "AgreementConsented",
    "AgreementFunded",
    "AgreementCancelled",
    "TermsAmended",
    "MilestoneAdded",
    "DeadlineExtended",
    "OraclesRotated",
    "MilestoneApproved",
    "PartialResultAccepted",
    "MilestoneSettled",
    "MilestoneReclaimed",
    "HoldbackReleased",
    "DisputeOpened",
    "DisputeResolved",
    "Credited",
    "Withdrawn",
)
ERC20_APPROVE_ABI = [
    {
        "type": "function",
        "name": "approve",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "type": "function",
        "name": "allowance",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]


@dataclass
class ChainGateway:
    w3: Web3
    escrow: Contract
    registry: Contract
    chain_id: int
    start_block: int = 0  # the deployment's block: nothing of ours happened before it
    lock: Any = field(default_factory=threading.RLock)  # reentrant: the auditor holds it over many calls

    @cached_property
    def tokens(self) -> TokenRegistry:
        """Symbols and decimals (ATTESTPAY_TOKENS overrides, else read from the chain once)."""
        return TokenRegistry.configured(self.w3)

    def token(self, address: str | None) -> Token:
        with self.lock:
            return self.tokens.token(address)

    def transaction(self, sender: str, call: Any, value: int = 0, estimate: bool = True) -> dict:
        """`call` (a contract function call) as a transaction for the sender's wallet to sign."""
        tx = {
            "from": Web3.to_checksum_address(sender),
            "to": call.address,
            "data": call._encode_transaction_data(),
            "value": value,
            "chainId": self.chain_id,
            "gas": None,
        }
        if estimate:
            tx["gas"] = self.estimate_gas(tx)
        return tx

    def estimate_gas(self, tx: dict) -> int:
        """The gas the transaction needs, or ContractRejected with the escrow's custom error."""
        request = {k: tx[k] for k in ("from", "to", "data", "value")}
        with self.lock:
            try:
                return self.w3.eth.estimate_gas(request)
            except Exception as exc:  # every web3 provider raises its own kind
                raise self.rejection(exc) from None

    def rejection(self, exc: Exception) -> Exception:
        if revert_data(exc) is None and isinstance(exc, NODE_FAULTS) and not isinstance(exc, ContractLogicError):
            return ChainUnavailable(f"the chain's node did not answer usefully ({type(exc).__name__}: {exc}); retry")
        revert = escrow_revert(exc)
        if revert.name is None:
            return ContractRejected(f"the transaction would fail: {exc}")
        because = f"{revert.reason}: " if revert.reason else ""
        return ContractRejected(
            f"{because}the escrow would revert with {revert.message}", revert={"name": revert.name, "args": revert.args}
        )

    def require_party_signature(
        self, signer: str, digest: bytes, signature: str, what: str, sign_in: bool = False
    ) -> None:
        """The party-signature rule (`attestpay.party_signatures`) at the chain's latest block:
        InvalidInput (Unauthenticated for a sign-in, which also takes EIP-6492 signatures of
        accounts not deployed yet) saying how to fix a signature that is not the signer's."""
        with self.lock:
            try:
                party_signatures.require(self.w3, signer, digest, bytes.fromhex(signature[2:]), what, sign_in)
            except party_signatures.InvalidPartySignature as exc:
                raise (Unauthenticated if sign_in else InvalidInput)(str(exc), field="signature") from None
            except NODE_FAULTS as exc:
                raise ChainUnavailable(f"the chain's node could not check the signature ({exc}); retry") from None

    def permit_domain(self, token: str) -> permits.TokenDomain:
        """The token's EIP-712 domain (ERC-5267), or ContractRejected when it has none (no permits)."""
        _, name, version, chain_id, verifying, _, _ = self._permit_read(token, "eip712Domain")
        return permits.TokenDomain(name, version, chain_id, verifying)

    def permit_nonce(self, token: str, owner: str) -> int:
        return self._permit_read(token, "nonces", Web3.to_checksum_address(owner))

    def _permit_read(self, token: str, function: str, *args):
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(token), abi=permits.ERC5267_ABI)
        with self.lock:
            try:
                return getattr(contract.functions, function)(*args).call()
            except (ContractLogicError, BadFunctionCallOutput):
                raise ContractRejected(
                    f"token {token} has no EIP-2612 permits (ERC-5267 {function}): fund by approve + fund"
                ) from None
            except NODE_FAULTS as exc:
                raise ChainUnavailable(f"the chain's node did not answer ({exc}); retry") from None

    def allowance(self, token: str, owner: str) -> int:
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(token), abi=ERC20_APPROVE_ABI)
        with self.lock:
            return contract.functions.allowance(owner, self.escrow.address).call()

    def approve_call(self, token: str, amount: int):
        contract = self.w3.eth.contract(address=Web3.to_checksum_address(token), abi=ERC20_APPROVE_ABI)
        return contract.functions.approve(self.escrow.address, amount)

    def receipt(self, tx_hash: str) -> dict:
        with self.lock:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                raise NotFound(f"transaction {tx_hash} is not mined (or not known to this chain)") from None

    def block_time(self, block_number: int) -> int:
        with self.lock:
            return self.w3.eth.get_block(block_number)["timestamp"]

    def escrow_events(self, receipt: dict) -> list:
        """The escrow's events in a receipt, in log order; other contracts' logs are skipped."""
        events = []
        for name in ESCROW_EVENTS:
            events.extend(getattr(self.escrow.events, name)().process_receipt(receipt, errors=DISCARD))
        return sorted((e for e in events if e.address == self.escrow.address), key=lambda e: e.logIndex)

    def now(self) -> int:
        with self.lock:
            return self.w3.eth.get_block("latest")["timestamp"]


@dataclass(frozen=True)
class Revert:
    name: str | None  # the escrow's custom error, None when the data does not decode
    args: list
    message: str
    reason: str | None = None  # what it means to a party, in words (CustomError.reason)

    def as_json(self) -> dict:
        return {"revert": self.name, "args": self.args, "message": self.message, "reason": self.reason}


def escrow_revert(exc: Exception) -> Revert:
    """The escrow's custom error in a failed call or estimate, its arguments made JSON-safe; the
    exception's text when the revert data is missing or not one of the escrow's errors."""
    data = revert_data(exc)
    error = decode_revert(load_artifact("MilestoneEscrow")["abi"], data) if data else None
    if error is None:
        return Revert(None, [], str(exc))
    return Revert(error.name, [jsonable(a) for a in error.args], str(error), error.reason())


def jsonable(value: Any) -> Any:
    """Revert arguments for a JSON body: bytes as 0x-hex, integers as decimal text (uint256 safe)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def connect(settings: Settings) -> ChainGateway:
    """The chain the settings name; without an RPC URL, a fresh embedded chain with the contracts
    deployed (development only: it lives and dies with the process)."""
    if settings.rpc_url is None:
        return embedded_chain()
    deployment = json.loads(settings.deployment_file.read_text())
    w3 = Web3(
        HTTPProvider(
            settings.rpc_url,
            request_kwargs={"timeout": settings.rpc_timeout_seconds},
            exception_retry_configuration=READS_RETRIED,
        )
    )
    chain_id = _first_answer(lambda: w3.eth.chain_id, settings.rpc_url)
    if chain_id != deployment["chainId"]:
        raise ChainUnavailable(
            f"{settings.rpc_url} is chain {chain_id}, the deployment file is for {deployment['chainId']}"
        )
    return ChainGateway(
        w3,
        contract_at(w3, "MilestoneEscrow", deployment["escrow"]),
        contract_at(w3, "AttestationRegistry", deployment["registry"]),
        chain_id,
        int(deployment.get("block", 0)),
        lock=nullcontext(),
    )


def _first_answer(ask, url: str, attempts: int = 8):
    """A node that drops or fails a call at start-up is asked again (after 0.25 s, doubling, about
    30 s in all), so a worker or an API replica waits out a flaky endpoint instead of exiting."""
    for attempt in range(attempts):
        try:
            return ask()
        except Exception as exc:  # every provider raises its own kinds
            failure = exc
        if attempt < attempts - 1:
            time.sleep(0.25 * 2**attempt)
    raise ChainUnavailable(f"{url} did not answer: {type(failure).__name__}: {failure}")


def embedded_chain() -> ChainGateway:
    from web3 import EthereumTesterProvider

    from attestpay import embedded

    w3 = Web3(EthereumTesterProvider(embedded.tester()))
    deployer = w3.eth.accounts[0]
    registry = deploy(w3, "AttestationRegistry", sender=deployer)
    escrow = deploy(w3, "MilestoneEscrow", registry.address, sender=deployer)
    return ChainGateway(w3, escrow, registry, w3.eth.chain_id)
