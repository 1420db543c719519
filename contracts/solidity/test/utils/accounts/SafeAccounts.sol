// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The cheatcodes that put smart accounts on the test chain (declared here, beside `Vm`).
interface VmAccounts {
    /// @notice Creation code of a compiled artifact (here the Safe's own Hardhat artifacts from npm).
    function getCode(string calldata artifactPath) external view returns (bytes memory);
    /// @notice Signs an EIP-7702 authorization with `privateKey` and attaches it to the next call.
    function signAndAttachDelegation(address implementation, uint256 privateKey) external;
}

/// @notice The parts of Safe 1.4.1 these tests call.
interface ISafe {
    function setup(
        address[] calldata owners,
        uint256 threshold,
        address to,
        bytes calldata data,
        address fallbackHandler,
        address paymentToken,
        uint256 payment,
        address payable paymentReceiver
    ) external;
    function execTransaction(
        address to,
        uint256 value,
        bytes calldata data,
        uint8 operation,
        uint256 safeTxGas,
        uint256 baseGas,
        uint256 gasPrice,
        address gasToken,
        address payable refundReceiver,
        bytes memory signatures
    ) external payable returns (bool);
    function getTransactionHash(
        address to,
        uint256 value,
        bytes calldata data,
        uint8 operation,
        uint256 safeTxGas,
        uint256 baseGas,
        uint256 gasPrice,
        address gasToken,
        address refundReceiver,
        uint256 nonce
    ) external view returns (bytes32);
    function nonce() external view returns (uint256);
}

interface ISafeProxyFactory {
    function createProxyWithNonce(address singleton, bytes memory initializer, uint256 saltNonce)
        external
        returns (address proxy);
}

interface ICompatibilityFallbackHandler {
    function getMessageHashForSafe(address safe, bytes memory message) external view returns (bytes32);
}

/// @notice Deploys the official Safe 1.4.1 contracts (singleton, proxy factory and the
/// CompatibilityFallbackHandler that answers ERC-1271) from the npm package's compiled artifacts,
/// and signs as a Safe's owners.
abstract contract SafeAccounts {
    VmAccounts private constant VMA = VmAccounts(address(uint160(uint256(keccak256("hevm cheat code")))));
    string private constant ARTIFACTS = "node_modules/@safe-global/safe-contracts/build/artifacts/contracts/";

    ISafeProxyFactory internal safeFactory;
    address internal safeSingleton;
    ICompatibilityFallbackHandler internal safeHandler;

    function _deploySafeContracts() internal {
        safeSingleton = _deployArtifact("Safe.sol/Safe.json");
        safeFactory = ISafeProxyFactory(_deployArtifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json"));
        safeHandler = ICompatibilityFallbackHandler(
            _deployArtifact("handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json")
        );
    }

    function _deployArtifact(string memory path) private returns (address deployed) {
        bytes memory code = VMA.getCode(string.concat(ARTIFACTS, path));
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        require(deployed != address(0), path);
    }

    /// @dev A Safe of `owners` (ascending) with `threshold`, answering ERC-1271 through the handler.
    function _newSafe(address[] memory owners, uint256 threshold, uint256 salt) internal returns (ISafe) {
        bytes memory setup = abi.encodeCall(
            ISafe.setup, (owners, threshold, address(0), "", address(safeHandler), address(0), 0, payable(address(0)))
        );
        return ISafe(safeFactory.createProxyWithNonce(safeSingleton, setup, salt));
    }
}
