// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title ChainlinkRound
/// @notice The one read of a Chainlink aggregator's latest round, for the price feed (prices) and
/// the ClearingHouse (the L2 sequencer's uptime feed) alike.
library ChainlinkRound {
    /// @dev `latestRoundData` returns five 32-byte words.
    uint256 private constant ROUND_DATA_LENGTH = 5 * 32;

    /// @notice The aggregator's latest round, or `ok = false` if the call reverted or its data is
    /// not five words with uint80 round ids.
    /// @dev A low-level call rather than try/catch: try/catch cannot catch a failure to decode the
    /// returned data (short data, or no code at the address), which would revert in the caller and
    /// brick it. The call is made in assembly and only the first five words of what it returns are
    /// copied, as full words so that no value can fail to decode (a longer answer is read as
    /// before, and cannot make the copy expensive); the round ids are checked against their
    /// declared uint80 by hand.
    function latest(
        AggregatorV3Interface feed
    ) internal view returns (bool ok, uint256 roundId, int256 answer, uint256 startedAt, uint256 updatedAt) {
        uint256 answeredInRound;
        bytes4 selector = AggregatorV3Interface.latestRoundData.selector;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // Scratch memory past the free pointer, not allocated: read back before anything else runs.
            let data := mload(0x40)
            mstore(data, selector)
            ok := staticcall(gas(), feed, data, 4, data, ROUND_DATA_LENGTH)
            // After the call (Yul evaluates arguments right to left): the data must be five words.
            ok := and(ok, iszero(lt(returndatasize(), ROUND_DATA_LENGTH)))
            roundId := mload(data)
            answer := mload(add(data, 0x20))
            startedAt := mload(add(data, 0x40))
            updatedAt := mload(add(data, 0x60))
            answeredInRound := mload(add(data, 0x80))
        }
        if (!ok || roundId > type(uint80).max || answeredInRound > type(uint80).max) return (false, 0, 0, 0, 0);
    }
}
