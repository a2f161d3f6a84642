// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {PriceHistory} from "../libraries/PriceHistory.sol";

/// @notice Exposes the PriceHistory library on one storage history, with the time passed in
/// explicitly, so tests can script any sequence of timestamps without touching the clock.
contract PriceHistoryHarness {
    using PriceHistory for PriceHistory.History;

    PriceHistory.History private _history;

    /// @notice The library's ring size and bucket length.
    function constants() external pure returns (uint256 cardinality, uint256 spacing) {
        return (PriceHistory.CARDINALITY, PriceHistory.SPACING);
    }

    function initialize(uint256 timestamp, uint256 price) external {
        _history.initialize(timestamp, price);
    }

    function record(
        uint256 timestamp,
        uint256 priceSinceHead,
        uint256 price
    ) external returns (PriceHistory.Head memory newHead, bool firstInBlock) {
        return _history.record(timestamp, priceSinceHead, price);
    }

    function twap(uint256 timestamp, uint256 priceSinceHead, uint256 interval) external view returns (uint256) {
        return _history.twap(timestamp, priceSinceHead, interval);
    }

    function head() external view returns (PriceHistory.Head memory) {
        return _history.head;
    }

    /// @notice The raw ring slot `index` (timestamp 0 = no observation).
    function observation(uint256 index) external view returns (PriceHistory.Observation memory) {
        return _history.ring[index];
    }
}
