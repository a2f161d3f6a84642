// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {ChainlinkRound} from "./libraries/ChainlinkRound.sol";

/// @title ChainlinkPriceFeed
/// @notice Index prices for every market. See {IPriceFeed}. (The L2 sequencer check is the
/// ClearingHouse's: {SequencerUptime}.)
/// @dev Each check is written once: `_readPrice` returns a status code and the figures that
/// explain it; `getPrice` turns the code into an error in `_revertForPrice`, `tryGetPrice` just
/// compares it with the good status.
contract ChainlinkPriceFeed is IPriceFeed, Ownable2Step {
    // ---------------------------------------------------------------- constants

    /// @dev Prices leave this contract in 18 decimals; feeds with more cannot be scaled exactly.
    uint8 private constant MAX_FEED_DECIMALS = 18;

    // ---------------------------------------------------------------- types

    /// @dev The outcome of the price checks, one code per error, in the order they are made.
    enum PriceStatus {
        VALID,
        UNKNOWN_ASSET,
        FEED_CALL_FAILED,
        ZERO_ROUND_ID,
        INCOMPLETE_ROUND,
        UPDATED_AT_IN_FUTURE,
        STALE,
        NON_POSITIVE_ANSWER,
        OUT_OF_BOUNDS
    }

    /// @dev One read of an asset's price: the status and every figure its error reports (the
    /// round's as the aggregator reported them, widened so no value can fail to decode).
    struct PriceRead {
        PriceStatus status;
        uint256 price;
        uint256 timestamp;
        uint256 roundId;
        int256 answer;
        uint256 updatedAt;
        AssetConfig config;
    }

    // ---------------------------------------------------------------- storage

    mapping(bytes32 asset => AssetConfig) private _assets;
    // ---------------------------------------------------------------- constructor

    /// @param owner_ Who configures the assets.
    constructor(address owner_) Ownable(owner_) {}

    // ---------------------------------------------------------------- prices

    /// @inheritdoc IPriceFeed
    function getPrice(bytes32 asset) external view returns (uint256 price) {
        PriceRead memory r = _readPrice(asset);
        if (r.status != PriceStatus.VALID) _revertForPrice(asset, r);
        return r.price;
    }

    /// @inheritdoc IPriceFeed
    function tryGetPrice(bytes32 asset) external view returns (bool valid, uint256 price) {
        PriceRead memory r = _readPrice(asset);
        if (r.status != PriceStatus.VALID) return (false, 0);
        return (true, r.price);
    }

    /// @dev Every price check, each written once. Never reverts, whatever the aggregator does.
    /// Works on stack copies of the figures, recording in `r` only what an error reports.
    function _readPrice(bytes32 asset) private view returns (PriceRead memory r) {
        AssetConfig memory config = _assets[asset];
        r.config = config;
        if (address(config.feed) == address(0)) return _withStatus(r, PriceStatus.UNKNOWN_ASSET);

        (bool ok, uint256 roundId, int256 answer, , uint256 updatedAt) = ChainlinkRound.latest(config.feed);
        if (!ok) return _withStatus(r, PriceStatus.FEED_CALL_FAILED);
        (r.roundId, r.answer, r.updatedAt) = (roundId, answer, updatedAt);
        if (roundId == 0) return _withStatus(r, PriceStatus.ZERO_ROUND_ID);
        if (updatedAt == 0) return _withStatus(r, PriceStatus.INCOMPLETE_ROUND);

        uint256 timestamp = _blockTimestamp();
        r.timestamp = timestamp;
        if (updatedAt > timestamp) return _withStatus(r, PriceStatus.UPDATED_AT_IN_FUTURE);
        // Inclusive: an answer exactly `heartbeat` old is still fresh.
        if (timestamp - updatedAt > config.heartbeat) return _withStatus(r, PriceStatus.STALE);
        if (answer <= 0) return _withStatus(r, PriceStatus.NON_POSITIVE_ANSWER);

        uint256 scale;
        unchecked {
            // feedDecimals <= MAX_FEED_DECIMALS ({setAsset}): no underflow, and 10^18 fits.
            scale = 10 ** (MAX_FEED_DECIMALS - config.feedDecimals);
        }
        // Exact scaling; a product too large for 256 bits saturates, which is above any maxPrice (128 bits).
        uint256 price = Math.saturatingMul(uint256(answer), scale);
        r.price = price;
        if (price < config.minPrice || price > config.maxPrice) return _withStatus(r, PriceStatus.OUT_OF_BOUNDS);
        return r;
    }

    function _withStatus(PriceRead memory r, PriceStatus status) private pure returns (PriceRead memory) {
        r.status = status;
        return r;
    }

    /// @dev Turns a failed read into its error; the one place each price error is raised.
    function _revertForPrice(bytes32 asset, PriceRead memory r) private pure {
        PriceStatus s = r.status;
        if (s == PriceStatus.UNKNOWN_ASSET) revert UnknownAsset(asset);
        if (s == PriceStatus.FEED_CALL_FAILED) revert FeedCallFailed(asset);
        if (s == PriceStatus.ZERO_ROUND_ID) revert ZeroRoundId(asset);
        if (s == PriceStatus.INCOMPLETE_ROUND) revert IncompleteRound(asset, r.roundId);
        if (s == PriceStatus.UPDATED_AT_IN_FUTURE) revert UpdatedAtInFuture(asset, r.updatedAt, r.timestamp);
        if (s == PriceStatus.STALE) revert StalePrice(asset, r.updatedAt, r.config.heartbeat, r.timestamp);
        if (s == PriceStatus.NON_POSITIVE_ANSWER) revert NonPositiveAnswer(asset, r.answer);
        revert PriceOutOfBounds(asset, r.price, r.config.minPrice, r.config.maxPrice);
    }

    /// @dev The one place the contract reads the time.
    function _blockTimestamp() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IPriceFeed
    function setAsset(
        bytes32 asset,
        AggregatorV3Interface feed,
        uint32 heartbeat,
        uint128 minPrice,
        uint128 maxPrice
    ) external onlyOwner {
        if (asset == bytes32(0)) revert ZeroAssetKey();
        if (address(feed) == address(0)) revert ZeroFeedAddress(asset);
        if (heartbeat == 0) revert ZeroHeartbeat(asset);
        if (minPrice >= maxPrice) revert InvalidPriceBounds(asset, minPrice, maxPrice);
        // Read once here, not on every price: Chainlink feeds keep their decimals, and a read that
        // could revert has no place in the price path. The bounds catch a scale that changed anyway.
        uint8 feedDecimals = feed.decimals();
        if (feedDecimals > MAX_FEED_DECIMALS) revert UnsupportedFeedDecimals(asset, feedDecimals);
        _assets[asset] = AssetConfig(feed, heartbeat, feedDecimals, minPrice, maxPrice);
        emit AssetConfigured(asset, address(feed), feedDecimals, heartbeat, minPrice, maxPrice);
    }

    /// @inheritdoc IPriceFeed
    function removeAsset(bytes32 asset) external onlyOwner {
        if (address(_assets[asset].feed) == address(0)) revert UnknownAsset(asset);
        delete _assets[asset];
        emit AssetRemoved(asset);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPriceFeed
    function getAssetConfig(bytes32 asset) external view returns (AssetConfig memory) {
        return _assets[asset];
    }
}
