"""Whole agreement lifecycles through web3.py on eth-tester, from the committed artifacts, with every
balance checked to the wei against attestpay.payout and every signature made with eth-account."""

from __future__ import annotations

from factories import DAY, milestone, send, terms, wallet_sign
from web3 import Web3
from web3.logs import DISCARD

from attestpay import payout, settlement, typed_data
from attestpay.contracts import deploy
from attestpay.terms import ETH, Attestation, Milestone


def _attest(
    chain, agreement_id: bytes, index: int, m: Milestone, value: int, signers: int
) -> tuple[Attestation, bytes]:
    att = Attestation(
        agreement_id, index, m.metric_id, value, chain.now(), Web3.keccak(text=f"evidence {index}"), chain.now() + DAY
    )
    digest = typed_data.attestation_digest(att, chain.chain_id, chain.escrow.address)
    sigs = typed_data.pack_signatures([(o.address, typed_data.sign(o.key, digest)) for o in chain.oracles[:signers]])
    return att, sigs


def test_an_erc20_agreement_from_consent_to_the_last_milestone(chain):
    escrow, token = chain.escrow, chain.token
    ms = [
        milestone(chain),  # full achievement
        milestone(chain),  # partial, accepted by the provider's signature
        milestone(chain, holdback_bps=1000, holdback_period=30 * DAY),  # released after the warranty
        milestone(chain, deadline=chain.now() + 5 * DAY),  # missed: reclaimed
    ]
    agreement = terms(chain, token.address, ms, threshold=2)
    consent = wallet_sign(chain, chain.provider.key, "Agreement", typed_data.terms_message(agreement))
    agreement_id = typed_data.terms_hash(agreement)
    client_start = token.functions.balanceOf(chain.client.address).call()

    send(chain, escrow.functions.create(agreement.as_abi(), [m.as_abi() for m in ms], consent), chain.client.address)
    send(chain, escrow.functions.fund(agreement_id, agreement.as_abi(), [m.as_abi() for m in ms]), chain.client.address)
    assert token.functions.balanceOf(escrow.address).call() == 440 * 10**18
    phase, count, current = escrow.functions.agreement(agreement_id).call()
    assert (phase, count, current) == (4, 4, agreement_id)

    expected = []
    # milestone 0: 93.00% with 2 of 3 oracles, settled by a relayer
    att, sigs = _attest(chain, agreement_id, 0, ms[0], 9300, signers=2)
    receipt = send(
        chain,
        escrow.functions.settleMilestonePacked(
            settlement.pack(agreement, ms[0], typed_data.milestone_proof(ms, 0), att, sigs)
        ),
        chain.relayer.address,
    )
    expected.append(payout.compute(ms[0], 9300, att.observed_at))
    (event,) = escrow.events.MilestoneSettled().process_receipt(receipt, errors=DISCARD)
    assert (event.args.paidNow, event.args.holdback, event.args.refund) == (expected[0].paid_now, 0, expected[0].refund)

    # milestone 1: 90.00%, below target: the relayer brings the provider's acceptance signature
    att, sigs = _attest(chain, agreement_id, 1, ms[1], 9000, signers=2)
    acceptance = wallet_sign(
        chain,
        chain.provider.key,
        "PartialAcceptance",
        {
            "agreementId": agreement_id,
            "milestoneIndex": 1,
            "value": 9000,
            "attestation": typed_data.attestation_digest(att, chain.chain_id, escrow.address),
        },
    )
    send(
        chain,
        escrow.functions.settleWithConsents(
            settlement.pack(agreement, ms[1], typed_data.milestone_proof(ms, 1), att, sigs), b"", acceptance
        ),
        chain.relayer.address,
    )
    expected.append(payout.compute(ms[1], 9000, att.observed_at))

    # milestone 2: 97.00% with a 10% holdback, released after 30 days
    att, sigs = _attest(chain, agreement_id, 2, ms[2], 9700, signers=3)
    send(
        chain,
        escrow.functions.settleMilestonePacked(
            settlement.pack(agreement, ms[2], typed_data.milestone_proof(ms, 2), att, sigs)
        ),
        chain.relayer.address,
    )
    expected.append(payout.compute(ms[2], 9700, att.observed_at))
    holdback, release_at, _, _ = escrow.functions.milestoneExtra(agreement_id, 2).call()
    assert holdback == expected[2].holdback > 0

    # milestone 3: never attested; the client reclaims after deadline + cure window (day 12)
    chain.warp(ms[3].deadline + agreement.cure_window + 1)
    send(
        chain,
        escrow.functions.reclaim(
            agreement_id, agreement.as_abi(), 3, ms[3].as_abi(), typed_data.milestone_proof(ms, 3)
        ),
        chain.client.address,
    )

    # day 30: the holdback of milestone 2 is due
    chain.warp(release_at)
    send(chain, escrow.functions.releaseHoldback(agreement_id, agreement.as_abi(), 2), chain.relayer.address)

    to_provider = sum(p.paid_now + p.holdback for p in expected)
    to_client = sum(p.refund for p in expected) + ms[3].amount + ms[3].bonus
    assert token.functions.balanceOf(chain.provider.address).call() == to_provider
    assert token.functions.balanceOf(chain.client.address).call() == client_start - 440 * 10**18 + to_client
    assert token.functions.balanceOf(escrow.address).call() == 0
    assert [escrow.functions.milestoneStatus(agreement_id, i).call() for i in range(4)] == [2, 2, 2, 3]


def test_an_ether_dispute_split_by_the_arbiter_credits_a_payee_that_refuses_ether(chain):
    escrow, w3 = chain.escrow, chain.w3
    wallet = deploy(w3, "ForwardingWallet", chain.provider.address, sender=chain.provider.address)
    ms = [milestone(chain)]
    agreement = terms(chain, ETH, ms, threshold=1, provider=wallet.address)
    agreement_id = typed_data.terms_hash(agreement)
    consent = wallet_sign(chain, chain.client.key, "Agreement", typed_data.terms_message(agreement))
    create = escrow.functions.create(agreement.as_abi(), [m.as_abi() for m in ms], consent)
    send(chain, wallet.functions.execute(escrow.address, create._encode_transaction_data()), chain.provider.address)
    send(
        chain,
        escrow.functions.fund(agreement_id, agreement.as_abi(), [m.as_abi() for m in ms]),
        chain.client.address,
        value=110 * 10**18,
    )

    send(chain, escrow.functions.openDispute(agreement_id, agreement.as_abi(), 0), chain.client.address)
    receipt = send(
        chain,
        escrow.functions.resolveDispute(
            agreement_id, agreement.as_abi(), 0, ms[0].as_abi(), typed_data.milestone_proof(ms, 0), 7000, b""
        ),
        chain.arbiter.address,
    )
    (resolved,) = escrow.events.DisputeResolved().process_receipt(receipt, errors=DISCARD)
    assert (resolved.args.toProvider, resolved.args.toClient) == (77 * 10**18, 33 * 10**18)
    (credited,) = escrow.events.Credited().process_receipt(receipt, errors=DISCARD)
    assert (credited.args.account, credited.args.amount) == (wallet.address, 77 * 10**18)
    assert w3.eth.get_balance(escrow.address) == 77 * 10**18

    cold = Web3.to_checksum_address("0x000000000000000000000000000000000000c01d")
    withdraw = escrow.functions.withdraw(ETH, cold)
    send(chain, wallet.functions.execute(escrow.address, withdraw._encode_transaction_data()), chain.provider.address)
    assert w3.eth.get_balance(cold) == 77 * 10**18
    assert w3.eth.get_balance(escrow.address) == 0
