// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMilestoneEscrow} from "../../interfaces/IMilestoneEscrow.sol";
import {AgreementTerms, Attestation, Milestone} from "../../libraries/EscrowTypes.sol";
import {SettlementCodec} from "../../libraries/SettlementCodec.sol";
import {EscrowTestBase} from "./EscrowTestBase.sol";
import {packSettlement} from "./SettlementPacking.sol";

/// @notice One funded token agreement of two default milestones that two of the three oracles
/// settle: the fixture of the settlement and signature-attack tests.
abstract contract FundedAgreementTestBase is EscrowTestBase {
    Milestone[] internal ms;
    AgreementTerms internal t;
    bytes32 internal id;

    function setUp() public virtual override {
        super.setUp();
        Milestone[] memory m = _milestones(2);
        for (uint256 i = 0; i < m.length; ++i) {
            ms.push(m[i]);
        }
        t = _terms(address(token), 2, ms);
        id = _createAndFund(t, ms);
    }

    /// @dev The attestation at target for the first milestone, signed by `firstKey` then `secondKey`.
    function _signedWith(uint256 firstKey, uint256 secondKey)
        internal
        view
        returns (Attestation memory a, bytes memory sigs)
    {
        a = _attestation(id, 0, 9200);
        bytes32 digest = escrow.attestationDigest(a);
        sigs = bytes.concat(_sig(firstKey, digest), _sig(secondKey, digest));
    }

    /// @dev As `_signedWith`, by the first oracle and an `outsider` of the set, in ascending address order.
    function _signedWithAnOutsider() internal view returns (Attestation memory a, bytes memory sigs, address outsider) {
        uint256 outsiderKey = 0xBAD;
        outsider = vm.addr(outsiderKey);
        if (outsider < oracles[0]) {
            (a, sigs) = _signedWith(outsiderKey, oracleKeys[0]);
        } else {
            (a, sigs) = _signedWith(oracleKeys[0], outsiderKey);
        }
    }

    /// @dev The milestone `a` names with its proof; the first one for an index beyond the agreement's.
    function _milestoneFor(Attestation memory a) internal view returns (Milestone memory, bytes32[] memory) {
        uint256 index = a.milestoneIndex < ms.length ? a.milestoneIndex : 0;
        return (ms[index], _proof(ms, index));
    }

    /// @dev The packed settlement of `a` with `sigs` (`_milestoneFor` picks the milestone).
    function _packed(Attestation memory a, bytes memory sigs) internal view returns (bytes memory) {
        (Milestone memory m, bytes32[] memory proof) = _milestoneFor(a);
        return packSettlement(t, m, proof, a, sigs);
    }

    /// @dev Settles with `a` and `sigs` from this contract.
    function _settleWith(Attestation memory a, bytes memory sigs) internal {
        escrow.settleMilestonePacked(_packed(a, sigs));
    }

    /// @dev As `_settleWith`, expecting the settlement to revert with `err`.
    function _expectSettleRevert(Attestation memory a, bytes memory sigs, bytes memory err) internal {
        bytes memory packed = _packed(a, sigs);
        vm.expectRevert(err);
        escrow.settleMilestonePacked(packed);
    }

    /// @dev The error for a packed settlement of `a` with `sigs` whose length is not what it says.
    function _malformed(Attestation memory a, bytes memory sigs) internal view returns (bytes memory) {
        return abi.encodeWithSelector(SettlementCodec.MalformedSettlement.selector, _packed(a, sigs).length);
    }

    /// @dev Who `sig` (65 bytes) recovers to for attestation `a`: a random address for a foreign signature.
    function _recovered(Attestation memory a, bytes memory sigs, uint256 position) internal view returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            let p := add(add(sigs, 32), mul(position, 65))
            r := mload(p)
            s := mload(add(p, 32))
            v := byte(0, mload(add(p, 64)))
        }
        return ecrecover(escrow.attestationDigest(a), v, r, s);
    }

    /// @dev The error for `sigs` whose first signature is not over `settled`'s digest.
    function _foreignSigner(Attestation memory settled, bytes memory sigs) internal view returns (bytes memory) {
        return abi.encodeWithSelector(IMilestoneEscrow.SignerNotInOracleSet.selector, _recovered(settled, sigs, 0));
    }
}
