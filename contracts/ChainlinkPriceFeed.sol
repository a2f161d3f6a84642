// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";

/// @title ChainlinkPriceFeed
/// @notice Index prices for every market, and the L2 sequencer's status. See {IPriceFeed}.
/// @dev Each check is written once: `_readPrice` and `_readSequencer` return a status code and the
/// figures that explain it; the reverting functions turn the code into an error in `_revertFor*`,
/// the non-reverting ones just compare it with the good status.
contract ChainlinkPriceFeed is IPriceFeed, Ownable2Step {
    // ---------------------------------------------------------------- constants

    /// @inheritdoc IPriceFeed
    uint256 public constant DEFAULT_GRACE_PERIOD = 1 hours;
    /// @inheritdoc IPriceFeed
    uint256 public constant MIN_GRACE_PERIOD = 10 minutes;
    /// @inheritdoc IPriceFeed
    uint256 public constant MAX_GRACE_PERIOD = 1 days;

    /// @dev Prices leave this contract in 18 decimals; feeds with more cannot be scaled exactly.
    uint8 private constant MAX_FEED_DECIMALS = 18;

    /// @dev `latestRoundData` returns five 32-byte words.
    uint256 private constant ROUND_DATA_LENGTH = 5 * 32;

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

    /// @dev The outcome of the sequencer checks, one code per error.
    enum SequencerStatus {
        UP,
        DOWN,
        NOT_INITIALIZED,
        GRACE_PERIOD
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
    /// @dev The sequencer uptime feed and the grace period, in one slot: the check that gates every
    /// risk-increasing action reads both with one cold load. (The grace period is at most
    /// MAX_GRACE_PERIOD, so 96 bits hold it.)
    struct SequencerConfig {
        AggregatorV3Interface feed;
        uint96 gracePeriod;
    }

    SequencerConfig private _sequencer;

    // ---------------------------------------------------------------- constructor

    /// @param owner_ Who configures assets, the sequencer feed and the grace period.
    /// @param sequencerFeed_ The L2 sequencer uptime feed, or address(0) for none.
    constructor(address owner_, AggregatorV3Interface sequencerFeed_) Ownable(owner_) {
        _setSequencerFeed(sequencerFeed_);
        _setGracePeriod(DEFAULT_GRACE_PERIOD);
    }

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

        (bool ok, uint256 roundId, int256 answer, , uint256 updatedAt) = _latestRound(config.feed);
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

    // ---------------------------------------------------------------- sequencer

    /// @inheritdoc IPriceFeed
    function checkSequencer() external view {
        (SequencerStatus status, uint256 startedAt, uint256 gracePeriodEnd) = _readSequencer();
        if (status == SequencerStatus.DOWN) revert SequencerDown();
        if (status == SequencerStatus.NOT_INITIALIZED) revert SequencerRoundNotInitialized();
        if (status == SequencerStatus.GRACE_PERIOD) revert GracePeriodNotOver(startedAt, gracePeriodEnd);
    }

    /// @inheritdoc IPriceFeed
    function isSequencerUp() external view returns (bool) {
        (SequencerStatus status, , ) = _readSequencer();
        return status == SequencerStatus.UP;
    }

    /// @dev Every sequencer check, each written once. Never reverts: a feed that cannot answer counts
    /// as down, so the protocol fails closed for the actions it gates.
    function _readSequencer() private view returns (SequencerStatus status, uint256 startedAt, uint256 gracePeriodEnd) {
        SequencerConfig memory sequencer = _sequencer;
        AggregatorV3Interface feed = sequencer.feed;
        if (address(feed) == address(0)) return (SequencerStatus.UP, 0, 0);

        (bool ok, , int256 answer, uint256 startedAt_, ) = _latestRound(feed);
        if (!ok) return (SequencerStatus.DOWN, 0, 0);
        startedAt = startedAt_;
        // Some L2s' uptime feeds answer with startedAt 0 before their first round: no status yet.
        if (startedAt == 0) return (SequencerStatus.NOT_INITIALIZED, 0, 0);
        // 0 is up, 1 is down; anything else is not a status we can trust.
        if (answer != 0) return (SequencerStatus.DOWN, startedAt, 0);

        // Saturating: a malformed startedAt near 2^256 must read as "in grace", not overflow.
        gracePeriodEnd = Math.saturatingAdd(startedAt, sequencer.gracePeriod);
        // Inclusive: the grace period lasts through gracePeriodEnd (Chainlink's `timeSinceUp <= grace`).
        if (_blockTimestamp() <= gracePeriodEnd) return (SequencerStatus.GRACE_PERIOD, startedAt, gracePeriodEnd);
        return (SequencerStatus.UP, startedAt, gracePeriodEnd);
    }

    // ---------------------------------------------------------------- feed access

    /// @dev The aggregator's latest round, or `ok = false` if the call reverted or its data is not
    /// five words with uint80 round ids. A low-level call rather than try/catch: try/catch cannot
    /// catch a failure to decode the returned data (short data, or no code at the address), which
    /// would revert in this contract and brick every caller. The call is made in assembly and
    /// only the first five words of what it returns are copied, as full words so that no value can
    /// fail to decode (a longer answer is read as before, and cannot make the copy expensive); the
    /// round ids are checked against their declared uint80 by hand.
    function _latestRound(
        AggregatorV3Interface feed
    ) private view returns (bool ok, uint256 roundId, int256 answer, uint256 startedAt, uint256 updatedAt) {
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

    /// @inheritdoc IPriceFeed
    function setSequencerFeed(AggregatorV3Interface feed) external onlyOwner {
        _setSequencerFeed(feed);
    }

    /// @inheritdoc IPriceFeed
    function setGracePeriod(uint256 gracePeriod_) external onlyOwner {
        _setGracePeriod(gracePeriod_);
    }

    function _setSequencerFeed(AggregatorV3Interface feed) private {
        _sequencer.feed = feed;
        emit SequencerFeedSet(address(feed));
    }

    function _setGracePeriod(uint256 gracePeriod_) private {
        if (gracePeriod_ < MIN_GRACE_PERIOD || gracePeriod_ > MAX_GRACE_PERIOD) {
            revert GracePeriodOutOfBounds(gracePeriod_, MIN_GRACE_PERIOD, MAX_GRACE_PERIOD);
        }
        // At most MAX_GRACE_PERIOD (checked above): fits 96 bits.
        _sequencer.gracePeriod = uint96(gracePeriod_);
        emit GracePeriodSet(gracePeriod_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPriceFeed
    function sequencerFeed() external view returns (AggregatorV3Interface) {
        return _sequencer.feed;
    }

    /// @inheritdoc IPriceFeed
    function gracePeriod() external view returns (uint256) {
        return _sequencer.gracePeriod;
    }

    /// @inheritdoc IPriceFeed
    function getAssetConfig(bytes32 asset) external view returns (AssetConfig memory) {
        return _assets[asset];
    }
}
