"""The committed artifacts are what the Python side deploys: they must deploy and match the chain."""

from web3 import EthereumTesterProvider, Web3

from attestpay.contracts import deploy, load_artifact


def test_artifacts_deploy_on_eth_tester_and_match_the_code_on_chain():
    w3 = Web3(EthereumTesterProvider())
    sender = w3.eth.accounts[0]
    registry = deploy(w3, "AttestationRegistry", sender=sender)
    escrow = deploy(w3, "MilestoneEscrow", registry.address, sender=sender)

    def code(contract):
        return "0x" + w3.eth.get_code(contract.address).hex().removeprefix("0x")

    assert escrow.functions.registry().call() == registry.address
    assert code(registry) == load_artifact("AttestationRegistry")["deployedBytecode"]
    # The escrow's runtime code embeds immutables (registry, EIP-712 domain): same length, not same bytes.
    assert len(code(escrow)) == len(load_artifact("MilestoneEscrow")["deployedBytecode"])


def test_artifacts_are_built_for_prague_with_the_foundry_settings():
    settings = load_artifact("MilestoneEscrow")["compiler"]["settings"]
    assert settings["evmVersion"] == "prague"
    assert settings["metadata"] == {"bytecodeHash": "none", "appendCBOR": False}
