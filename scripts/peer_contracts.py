"""Deploy the gas peers from their published npm artifacts (their real bytecode, not a rebuild):
Sablier Lockup 4.0.1 (tranched streams) from the registry tarballs unpacked in build/peers by
`make install`, and UMA's Optimistic Oracle v3 from `@uma/contracts-node` 0.4.28 in node_modules.

Each peer gets the smallest real setup its money path needs (docs/benchmarks.md, "Peers"):
- Sablier: a comptroller deployed without its proxy, so every protocol fee is zero (no Chainlink
  price read on withdraw), and the NFT descriptor (read only by tokenURI).
- UMA: a Finder with the Store (final fee set for the bond token), the identifier whitelist
  (ASSERT_TRUTH) and the collateral whitelist; the Finder's Oracle entry is the deployer's address,
  read only when an assertion is disputed."""

from __future__ import annotations

import json
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

ROOT = Path(__file__).resolve().parent.parent
SABLIER = ROOT / "build" / "peers" / "@sablier"
UMA = ROOT / "node_modules" / "@uma" / "contracts-node" / "dist" / "packages" / "core" / "artifacts" / "contracts"
UMA_ARTIFACTS = {
    "Finder": "data-verification-mechanism/implementation/Finder.sol/Finder.json",
    "Store": "data-verification-mechanism/implementation/Store.sol/Store.json",
    "IdentifierWhitelist": (
        "data-verification-mechanism/implementation/IdentifierWhitelist.sol/IdentifierWhitelist.json"
    ),
    "AddressWhitelist": "common/implementation/AddressWhitelist.sol/AddressWhitelist.json",
    "OptimisticOracleV3": "optimistic-oracle-v3/implementation/OptimisticOracleV3.sol/OptimisticOracleV3.json",
}
ASSERT_TRUTH = b"ASSERT_TRUTH".ljust(32, b"\0")


def missing() -> list[Path]:
    """The peer artifact folders that are not installed."""
    return [p for p in (SABLIER / "lockup" / "artifacts", SABLIER / "evm-utils" / "artifacts", UMA) if not p.is_dir()]


def _deploy(w3: Web3, abi: list, bytecode: str, args: tuple, sender: str) -> Contract:
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": sender}))
    if receipt["status"] != 1:
        raise RuntimeError("a peer contract's deployment reverted")
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)


def _linked(bytecode: dict, libraries: dict[str, str]) -> str:
    """Foundry artifact bytecode with each library placeholder replaced by its deployed address."""
    code = bytecode["object"].removeprefix("0x")
    for refs in bytecode.get("linkReferences", {}).values():
        for name, spots in refs.items():
            address = libraries[name].lower().removeprefix("0x")
            for spot in spots:
                at = 2 * spot["start"]
                code = code[:at] + address + code[at + 2 * spot["length"] :]
    return "0x" + code


def _sablier_artifact(package: str, path: str) -> dict:
    return json.loads((SABLIER / package / "artifacts" / path).read_text())


def deploy_sablier_lockup(w3: Web3, sender: str) -> Contract:
    """SablierLockup with its two external libraries linked, a fee-free comptroller and the NFT descriptor."""
    libraries = {}
    for name in ("LockupHelpers", "LockupMath"):
        artifact = _sablier_artifact("lockup", f"libraries/{name}.json")
        libraries[name] = _deploy(w3, artifact["abi"], artifact["bytecode"]["object"], (), sender).address
    comptroller = _sablier_artifact("evm-utils", "SablierComptroller.json")
    comptroller = _deploy(w3, comptroller["abi"], comptroller["bytecode"]["object"], (sender,), sender)
    descriptor = _sablier_artifact("lockup", "LockupNFTDescriptor.json")
    descriptor = _deploy(w3, descriptor["abi"], descriptor["bytecode"]["object"], (), sender)
    lockup = _sablier_artifact("lockup", "SablierLockup.json")
    return _deploy(
        w3, lockup["abi"], _linked(lockup["bytecode"], libraries), (comptroller.address, descriptor.address), sender
    )


def _uma(w3: Web3, name: str, args: tuple, sender: str) -> Contract:
    artifact = json.loads((UMA / UMA_ARTIFACTS[name]).read_text())
    return _deploy(w3, artifact["abi"], artifact["bytecode"], args, sender)


def _transact(call, sender: str) -> None:
    """A setup transaction that must succeed."""
    if call.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))["status"] != 1:
        raise RuntimeError(f"{call.fn_name} reverted")


def deploy_uma_oov3(w3: Web3, bond_token: str, final_fee: int, liveness: int, sender: str) -> Contract:
    """OptimisticOracleV3 behind a Finder that names the Store, both whitelists and an Oracle."""
    finder = _uma(w3, "Finder", (), sender)
    store = _uma(w3, "Store", ((0,), (0,), "0x" + "00" * 20), sender)
    identifiers = _uma(w3, "IdentifierWhitelist", (), sender)
    collateral = _uma(w3, "AddressWhitelist", (), sender)
    _transact(store.functions.setFinalFee(bond_token, (final_fee,)), sender)
    _transact(identifiers.functions.addSupportedIdentifier(ASSERT_TRUTH), sender)
    _transact(collateral.functions.addToWhitelist(bond_token), sender)
    for key, address in (
        ("Store", store.address),
        ("IdentifierWhitelist", identifiers.address),
        ("CollateralWhitelist", collateral.address),
        ("Oracle", sender),
    ):
        _transact(finder.functions.changeImplementationAddress(key.encode().ljust(32, b"\0"), address), sender)
    return _uma(w3, "OptimisticOracleV3", (finder.address, bond_token, liveness), sender)
