// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title IPriceFeedErrors
/// @notice The errors the price feed raises; {IClearingHouse} inherits them, as its calls (funding updates through the Amm) can surface them.
interface IPriceFeedErrors {
    // ---------------------------------------------------------------- errors: configuration

    /// @notice The zero key cannot name an asset, so an unset key never has a price.
    error ZeroAssetKey();
    /// @notice The asset's feed address is zero.
    error ZeroFeedAddress(bytes32 asset);
    /// @notice The asset's heartbeat is zero.
    error ZeroHeartbeat(bytes32 asset);
    /// @notice The asset's price bounds are not `minPrice < maxPrice`.
    error InvalidPriceBounds(bytes32 asset, uint256 minPrice, uint256 maxPrice);
    /// @notice The asset's feed has more than 18 decimals.
    error UnsupportedFeedDecimals(bytes32 asset, uint8 feedDecimals);

    // ---------------------------------------------------------------- errors: price

    /// @notice No configuration for the asset.
    error UnknownAsset(bytes32 asset);
    /// @notice The aggregator's `latestRoundData` reverted or returned malformed data.
    error FeedCallFailed(bytes32 asset);
    /// @notice The aggregator returned round 0, which is not a real round.
    error ZeroRoundId(bytes32 asset);
    /// @notice The aggregator's latest round has `updatedAt` 0: it is not complete.
    error IncompleteRound(bytes32 asset, uint256 roundId);
    /// @notice The answer claims to be from the future.
    error UpdatedAtInFuture(bytes32 asset, uint256 updatedAt, uint256 timestamp);
    /// @notice The answer is older than the asset's heartbeat: `timestamp - updatedAt > heartbeat`.
    error StalePrice(bytes32 asset, uint256 updatedAt, uint256 heartbeat, uint256 timestamp);
    /// @notice The answer is zero or negative.
    error NonPositiveAnswer(bytes32 asset, int256 answer);
    /// @notice The price (18 decimals) is outside the asset's [minPrice, maxPrice].
    error PriceOutOfBounds(bytes32 asset, uint256 price, uint256 minPrice, uint256 maxPrice);
}

/// @title IPriceFeed
/// @notice Index prices for every market from Chainlink. One
/// contract serves all markets: each asset, named by a `bytes32` key (for example
/// `keccak256("ETH")`), has its own aggregator, heartbeat and sane-price bounds. Prices come out in
/// 18-decimal fixed point whatever the aggregator's decimals; oracle units never leave this contract.
///
/// A price is valid only if the aggregator answered a well-formed, complete round (`roundId` and
/// `updatedAt` non-zero), updated no later than now and no longer than `heartbeat` seconds ago,
/// with a positive answer inside the asset's [minPrice, maxPrice]. Staleness rests on `updatedAt`
/// alone: `answeredInRound` is deprecated by Chainlink and ignored. An aggregator that reverts or
/// returns malformed data makes the price invalid; it never makes `tryGetPrice` revert.
///
/// The price checks do not include the L2 sequencer check: the ClearingHouse gates its own
/// actions with it ({SequencerUptime}, {IClearingHouse-sequencerFeed}).
interface IPriceFeed is IPriceFeedErrors {
    /// @notice How one asset is priced.
    /// @param feed The Chainlink aggregator (proxy) giving the asset's price.
    /// @param heartbeat Largest age, in seconds, of a valid answer: `now - updatedAt <= heartbeat`.
    /// @param feedDecimals The aggregator's decimals, read once when the asset is configured.
    /// @param minPrice Lowest sane price, inclusive (18 decimals).
    /// @param maxPrice Highest sane price, inclusive (18 decimals).
    struct AssetConfig {
        AggregatorV3Interface feed;
        uint32 heartbeat;
        uint8 feedDecimals;
        uint128 minPrice;
        uint128 maxPrice;
    }

    // ---------------------------------------------------------------- events

    /// @notice An asset was added or its configuration replaced.
    event AssetConfigured(
        bytes32 indexed asset,
        address indexed feed,
        uint8 feedDecimals,
        uint256 heartbeat,
        uint256 minPrice,
        uint256 maxPrice
    );
    /// @notice An asset was removed: its price is unknown from now on.
    event AssetRemoved(bytes32 indexed asset);

    // ---------------------------------------------------------------- prices

    /// @notice The asset's latest price, checked as described above.
    /// @dev Reverts with the error naming the first failed check, in this order: UnknownAsset,
    /// FeedCallFailed, ZeroRoundId, IncompleteRound, UpdatedAtInFuture, StalePrice, NonPositiveAnswer,
    /// PriceOutOfBounds.
    /// @param asset The asset's key.
    /// @return price The price in 18 decimals (the answer scaled up exactly by 10^(18 - feed decimals)).
    function getPrice(bytes32 asset) external view returns (uint256 price);

    /// @notice The same checks as `getPrice`, reported instead of reverted: for callers that must keep
    /// working while the oracle is invalid (for example, to pause funding rather than revert).
    /// @param asset The asset's key.
    /// @return valid Whether every check passed.
    /// @return price The price in 18 decimals if valid, else 0.
    function tryGetPrice(bytes32 asset) external view returns (bool valid, uint256 price);

    // ---------------------------------------------------------------- views

    /// @notice The asset's configuration; all zero for an unknown asset.
    function getAssetConfig(bytes32 asset) external view returns (AssetConfig memory);

    // ---------------------------------------------------------------- admin

    /// @notice Adds an asset, or replaces its configuration (owner only). Reads the feed's decimals
    /// now; set the asset again if the feed's decimals ever change.
    /// @param asset The asset's key, not zero.
    /// @param feed The Chainlink aggregator, with at most 18 decimals.
    /// @param heartbeat Largest age of a valid answer in seconds, not zero. Take the feed's published
    /// heartbeat plus a margin for the update's own latency.
    /// @param minPrice Lowest sane price (18 decimals), inclusive.
    /// @param maxPrice Highest sane price (18 decimals), inclusive, above `minPrice`. Keep both
    /// inside the aggregator's own min/max answer, so a circuit-breaker answer reads as invalid.
    function setAsset(
        bytes32 asset,
        AggregatorV3Interface feed,
        uint32 heartbeat,
        uint128 minPrice,
        uint128 maxPrice
    ) external;

    /// @notice Removes an asset (owner only): its price is unknown from now on.
    function removeAsset(bytes32 asset) external;
}
