// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A Chainlink-style price feed (AggregatorV3Interface) whose answer the deployer sets: the local
/// network's stand-in for a real feed, so invoices and journals read a price at the settlement's block.
contract MockPriceFeed {
    uint8 public immutable decimals;
    string public description;
    address private immutable _owner;
    uint80 private _round;
    int256 private _answer;
    uint256 private _updatedAt;

    /// @notice Thrown when anyone but the deployer sets the answer.
    error NotOwner(address caller);

    constructor(uint8 decimals_, string memory description_, int256 answer) {
        decimals = decimals_;
        description = description_;
        _owner = msg.sender;
        setAnswer(answer);
    }

    function setAnswer(int256 answer) public {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
        _round += 1;
        _answer = answer;
        _updatedAt = block.timestamp;
    }

    function version() external pure returns (uint256) {
        return 4;
    }

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return (_round, _answer, _updatedAt, _updatedAt, _round);
    }
}
