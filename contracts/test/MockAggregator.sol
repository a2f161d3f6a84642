// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @notice A Chainlink aggregator whose every field is set by the test, and which can be made to
/// revert. Also serves as an L2 sequencer uptime feed: answer 0 = up, 1 = down, `startedAt` = when
/// that status began.
contract MockAggregator is AggregatorV3Interface {
    /// @notice `latestRoundData` and `getRoundData` were called while set to revert.
    error MockAggregatorReverted();

    uint8 public decimals;
    bool public reverting;

    uint80 private _roundId;
    int256 private _answer;
    uint256 private _startedAt;
    uint256 private _updatedAt;
    uint80 private _answeredInRound;

    constructor(uint8 decimals_) {
        decimals = decimals_;
    }

    /// @notice Sets the decimals the feed reports.
    function setDecimals(uint8 decimals_) external {
        decimals = decimals_;
    }

    /// @notice Sets every field of the latest round as given.
    function setRoundData(
        uint80 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) external {
        (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound) = (
            roundId,
            answer,
            startedAt,
            updatedAt,
            answeredInRound
        );
    }

    /// @notice Publishes a new, well-formed round: the next round id, started and updated at `updatedAt`.
    function setAnswer(int256 answer, uint256 updatedAt) external {
        uint80 roundId = _roundId + 1;
        (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound) = (
            roundId,
            answer,
            updatedAt,
            updatedAt,
            roundId
        );
    }

    /// @notice As a sequencer uptime feed: `down` is answer 1, up is 0, since `startedAt`.
    function setSequencerStatus(bool down, uint256 startedAt) external {
        uint80 roundId = _roundId + 1;
        (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound) = (
            roundId,
            down ? int256(1) : int256(0),
            startedAt,
            startedAt,
            roundId
        );
    }

    /// @notice Makes the round-data functions revert (true) or answer again (false).
    function setReverting(bool reverting_) external {
        reverting = reverting_;
    }

    function description() external pure returns (string memory) {
        return "MockAggregator";
    }

    function version() external pure returns (uint256) {
        return 4;
    }

    /// @dev Only the latest round is kept: any id returns it.
    function getRoundData(uint80) external view returns (uint80, int256, uint256, uint256, uint80) {
        return _latest();
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return _latest();
    }

    function _latest() private view returns (uint80, int256, uint256, uint256, uint80) {
        if (reverting) revert MockAggregatorReverted();
        return (_roundId, _answer, _startedAt, _updatedAt, _answeredInRound);
    }
}

/// @notice An aggregator that answers `latestRoundData` (and any other unknown call) with raw bytes
/// set by the test: short data, or words that do not fit their declared types.
contract MalformedAggregator {
    uint8 public decimals = 8;
    bytes private _returnData;

    /// @notice Sets the raw bytes returned for any unknown call, `latestRoundData` included.
    function setReturnData(bytes calldata returnData) external {
        _returnData = returnData;
    }

    /// @notice When set, every unknown call reverts with the raw bytes instead of returning them.
    bool public reverts;

    /// @notice Makes unknown calls revert with the raw bytes (true) or return them (false).
    function setReverts(bool reverts_) external {
        reverts = reverts_;
    }

    // solhint-disable-next-line no-complex-fallback
    fallback(bytes calldata) external returns (bytes memory) {
        bytes memory data = _returnData;
        if (reverts) {
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(data, 0x20), mload(data))
            }
        }
        return data;
    }
}
