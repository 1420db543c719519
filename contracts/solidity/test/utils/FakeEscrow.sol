// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IAttestationRegistry} from "../../interfaces/IAttestationRegistry.sol";
import {IMilestoneEscrow} from "../../interfaces/IMilestoneEscrow.sol";
import {EscrowHashing} from "../../libraries/EscrowHashing.sol";
import {AgreementTerms, Milestone, Payout, Phase} from "../../libraries/EscrowTypes.sol";
import {PayoutMath} from "../../libraries/PayoutMath.sol";
import {SettlementCodec} from "../../libraries/SettlementCodec.sol";

/// @notice A deliberately wrong escrow for the auditor's tests, never deployed elsewhere. It speaks
/// the escrow's ABI (same functions, events and EIP-712 domain) for ERC-20 agreements, but checks
/// no signature at all, and pays the provider `extraPaidBps` of the amount beyond the formula
/// (taken from the refund).
contract FakeEscrow is EIP712 {
    IAttestationRegistry public immutable registry;
    uint256 public immutable extraPaidBps;

    constructor(IAttestationRegistry registry_, uint256 extraPaidBps_) EIP712("AttestPay MilestoneEscrow", "1") {
        registry = registry_;
        extraPaidBps = extraPaidBps_;
    }

    function createAndFund(AgreementTerms calldata terms, Milestone[] calldata milestones, bytes calldata)
        external
        returns (bytes32 id)
    {
        id = EscrowHashing.hashTerms(terms);
        uint256 total;
        for (uint256 i = 0; i < milestones.length; ++i) {
            total += uint256(milestones[i].amount) + milestones[i].bonus;
        }
        emit IMilestoneEscrow.AgreementCreated(id, terms.client, terms.provider, terms, milestones, Phase.Consented);
        emit IMilestoneEscrow.AgreementFunded(id, msg.sender, total);
        require(IERC20(terms.token).transferFrom(msg.sender, address(this), total), "funding failed");
    }

    function settleMilestonePacked(bytes calldata packed) external {
        uint256 at = SettlementCodec.open(packed);
        Milestone memory milestone = SettlementCodec.decodeMilestone(at);
        uint256 index = SettlementCodec.milestoneIndex(at);
        int256 value = SettlementCodec.value(at);
        uint64 observedAt = SettlementCodec.observedAt(at);
        Payout memory p = PayoutMath.compute(milestone, value, observedAt);
        uint256 extra = uint256(milestone.amount) * extraPaidBps / PayoutMath.BPS;
        p.paidNow += extra;
        p.refund = p.refund > extra ? p.refund - extra : 0;
        bytes32 digest = _hashTypedDataV4(SettlementCodec.attestationHash(at, index, milestone.metricId));
        emit IMilestoneEscrow.MilestoneSettled(
            SettlementCodec.agreementId(at),
            index,
            digest,
            value,
            observedAt,
            SettlementCodec.evidenceHash(at),
            p.paidNow,
            p.holdback,
            p.refund
        );
        IERC20 token = IERC20(SettlementCodec.token(at));
        require(token.transfer(SettlementCodec.provider(at), p.paidNow), "payment failed");
        if (p.refund > 0) require(token.transfer(SettlementCodec.client(at), p.refund), "refund failed");
    }

    /// @dev Records the revocation like the escrow, and then ignores it.
    function revoke(bytes32 digest) external {
        emit IMilestoneEscrow.SignatureRevoked(digest, msg.sender);
    }
}
