// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {CurveMath} from "./libraries/CurveMath.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {FundingPeriod} from "./libraries/FundingPeriod.sol";
import {PriceHistory} from "./libraries/PriceHistory.sol";

/// @title Amm
/// @notice One virtual x*y=k market: its reserves, limits, open interest and mark and index price
/// histories, and its funding (see {FundingPeriod}). See {IAmm}.
/// @dev The pricing function (`_reservesAfter*`) and the reserve state live here and only here, so
/// a later re-peg or k adjustment changes one place. k is never stored: it is the product of the
/// reserves, and every swap rounds the reserve it computes up, so k can only grow by dust.
/// Every swap accrues funding first, on the open interest as it stood, and writes the time accrued
/// to in the open interest's slot (one extra slot read: the period's), so the insurance fund's share
/// is settled with the trade that changes the open interest, exactly.
contract Amm is IAmm, Ownable2Step {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using PriceHistory for PriceHistory.History;
    using FundingPeriod for FundingPeriod.State;

    // ---------------------------------------------------------------- constants

    /// @notice Highest `maxPremiumRatio`: 100% of the index per day.
    uint256 public constant MAX_PREMIUM_RATIO_LIMIT = FundingPeriod.MAX_PREMIUM_RATIO_LIMIT;
    /// @notice Oldest recorded index price that {getValuationPrices} still answers with (seconds).
    uint256 public constant MAX_INDEX_AGE = 1 hours;
    /// @notice Narrowest non-zero index band: 0.5% of the index.
    uint256 public constant MIN_INDEX_BAND = 0.005e18;
    /// @notice Widest index band: 50% of the index.
    uint256 public constant MAX_INDEX_BAND = 0.5e18;
    /// @notice Shortest `minUpdateInterval`, the shortest funding window (seconds).
    uint256 public constant MIN_FUNDING_WINDOW = FundingPeriod.MIN_WINDOW;
    /// @notice Longest `minUpdateInterval` (seconds).
    uint256 public constant MAX_FUNDING_WINDOW = FundingPeriod.MAX_WINDOW;
    /// @notice Highest funding subsidy budget: 10% of the insurance fund per day of funding.
    uint256 public constant MAX_FUNDING_SUBSIDY_RATIO = FundingPeriod.MAX_SUBSIDY_RATIO;
    /// @notice The funding subsidy budget a new market starts with: 1% of the fund per day.
    uint256 public constant DEFAULT_FUNDING_SUBSIDY_RATIO = 0.01e18;

    // ---------------------------------------------------------------- immutables

    /// @inheritdoc IAmm
    address public immutable clearingHouse;

    // ---------------------------------------------------------------- storage

    struct Reserves {
        uint128 quote;
        uint128 base;
    }

    Reserves private _reserves;
    Limits private _limits;
    /// @dev Written by every swap, so it also carries the time funding was last accrued to.
    FundingPeriod.OpenInterest private _openInterest;
    /// @dev Mark price history. Its head, written at the first swap of each block, also holds the
    /// spot price at the block's start, which the fluctuation limit measures against.
    PriceHistory.History private _markHistory;
    FundingPeriod.State private _funding;
    /// @dev Index price history, written by funding updates and pokes; unstarted until the first
    /// valid oracle price.
    PriceHistory.History private _indexHistory;
    IPriceFeed private _priceFeed;
    /// @dev Packed with the price feed: the index band (see {IAmm-getIndexBand}).
    uint64 private _indexBandRatio;
    bytes32 private _asset;

    // ---------------------------------------------------------------- constructor

    /// @param clearingHouse_ The only caller allowed to swap.
    /// @param quoteReserve Initial virtual quote reserve (18 decimals).
    /// @param baseReserve Initial virtual base reserve (18 decimals); the price is their ratio.
    /// @param limits Initial risk limits (0 = off).
    /// @param owner_ Who may change the limits.
    constructor(
        address clearingHouse_,
        uint256 quoteReserve,
        uint256 baseReserve,
        Limits memory limits,
        address owner_
    ) Ownable(owner_) {
        if (clearingHouse_ == address(0)) revert ZeroClearingHouse();
        if (
            quoteReserve == 0 || baseReserve == 0 || quoteReserve > type(uint128).max || baseReserve > type(uint128).max
        ) {
            revert InvalidReserves(quoteReserve, baseReserve);
        }
        clearingHouse = clearingHouse_;
        _reserves = Reserves(uint128(quoteReserve), uint128(baseReserve));
        uint256 timestamp = _blockTimestamp();
        _markHistory.initialize(timestamp, quoteReserve.wDivDown(baseReserve));
        _indexHistory.prewarm();
        _setLimits(limits);
        _openInterest.accruedAt = timestamp.toUint40();
        _funding.initialize(timestamp);
        _setFundingParams(FundingParams(0.1e18, 300, 3600));
        _setFundingSubsidyRatio(DEFAULT_FUNDING_SUBSIDY_RATIO);
    }

    modifier onlyClearingHouse() {
        if (msg.sender != clearingHouse) revert OnlyClearingHouse(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- swaps

    /// @inheritdoc IAmm
    function swapQuote(
        Side side,
        uint256 quoteAmount,
        int256 traderSizeBefore,
        uint256 insuranceAvailable
    ) external onlyClearingHouse returns (uint256 baseAmount, FundingSnapshot memory funding) {
        Reserves memory r = _reserves;
        Limits memory limits = _limits;
        if (limits.maxTradeRatio != 0) {
            uint256 maxQuote = uint256(r.quote).wMulDown(limits.maxTradeRatio);
            if (quoteAmount > maxQuote) revert TradeTooLarge(quoteAmount, maxQuote);
        }
        (uint256 newQuote, uint256 newBase) = CurveMath.afterQuoteSwap(r.quote, r.base, side, quoteAmount);
        int256 baseDelta;
        if (side == Side.LONG) {
            baseAmount = r.base - newBase;
            // A quote amount too small to buy one wei of base would be a gift to the pool.
            if (baseAmount == 0) revert ZeroSwapAmount();
            baseDelta = -int256(baseAmount);
        } else {
            baseAmount = newBase - r.base;
            baseDelta = int256(baseAmount);
        }
        int256 traderSizeAfter =
            side == Side.LONG ? traderSizeBefore + int256(baseAmount) : traderSizeBefore - int256(baseAmount);
        // Growing exposure must respect the index band; reducing it never is refused for it.
        if (traderSizeBefore == 0 || (traderSizeBefore > 0) == (side == Side.LONG)) {
            _checkIndexBand(uint256(r.quote).wDivDown(r.base), newQuote.wDivDown(newBase));
        }
        uint256 timestamp = _commit(r, newQuote, newBase, limits, false);
        funding = _accrueAndMoveOpenInterest(
            traderSizeBefore,
            traderSizeAfter,
            limits.maxOpenInterest,
            insuranceAvailable,
            timestamp
        );
        emit Swapped(int256(newQuote) - int256(uint256(r.quote)), baseDelta, newQuote, newBase);
    }

    /// @inheritdoc IAmm
    function swapBase(
        int256 traderSizeBefore,
        uint256 baseAmount,
        uint256 insuranceAvailable
    ) external onlyClearingHouse returns (uint256 quoteAmount, FundingSnapshot memory funding) {
        Reserves memory r = _reserves;
        (uint256 newQuote, uint256 newBase) = CurveMath.afterBaseSwap(r.quote, r.base, traderSizeBefore, baseAmount);
        int256 traderSizeAfter;
        if (traderSizeBefore > 0) {
            // Closing a long: base goes back in, quote comes out.
            quoteAmount = r.quote - newQuote;
            traderSizeAfter = traderSizeBefore - int256(baseAmount);
        } else {
            quoteAmount = newQuote - r.quote;
            traderSizeAfter = traderSizeBefore + int256(baseAmount);
        }
        Limits memory limits = _limits;
        uint256 timestamp = _commit(r, newQuote, newBase, limits, true);
        funding = _accrueAndMoveOpenInterest(
            traderSizeBefore,
            traderSizeAfter,
            limits.maxOpenInterest,
            insuranceAvailable,
            timestamp
        );
        emit Swapped(
            int256(newQuote) - int256(uint256(r.quote)),
            int256(newBase) - int256(uint256(r.base)),
            newQuote,
            newBase
        );
    }

    // ---------------------------------------------------------------- funding

    /// @inheritdoc IAmm
    function updateFunding(
        uint256 insuranceAvailable,
        bool frozen
    ) external onlyClearingHouse returns (FundingSnapshot memory funding, int256 premium) {
        uint256 markTwap;
        uint256 indexTwap;
        uint256 timestamp = _blockTimestamp();
        uint256 window;
        FundingPeriod.Params memory params;
        {
            FundingPeriod.OpenInterest memory oi = _openInterest;
            (funding, window, params) = _funding.closePeriod(oi, insuranceAvailable, timestamp);
            _openInterest = oi;
        }
        (premium, markTwap, indexTwap) = _openFundingPeriod(window, params, frozen, timestamp);
        emit FundingUpdated(premium, markTwap, indexTwap, funding.longIndex, funding.shortIndex, funding.insuranceFlow);
    }

    /// @dev Records the index price and opens the next funding period from the mark and index
    /// cumulatives now (an index history started just now begins at 0; it has started if it had
    /// before or this valid read started it). No premium while frozen or without a valid index.
    function _openFundingPeriod(
        uint256 window,
        FundingPeriod.Params memory params,
        bool frozen,
        uint256 timestamp
    ) private returns (int256, uint256, uint256) {
        bool hadIndex = _indexHistory.isStarted();
        (bool indexValid, ) = _recordIndex(timestamp);
        Reserves memory r = _reserves;
        FundingPeriod.Checkpoint memory next = FundingPeriod.Checkpoint(
            _markHistory.cumulativeAt(timestamp, uint256(r.quote).wDivDown(r.base)),
            hadIndex ? _indexHistory.cumulativeAt(timestamp, _indexHistory.head.price) : 0,
            hadIndex || indexValid
        );
        return _funding.openPeriod(next, !frozen && indexValid, window, params, timestamp);
    }

    /// @inheritdoc IAmm
    function shutdown(uint256 insuranceAvailable) external onlyClearingHouse returns (FundingSnapshot memory funding) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        funding = _funding.stop(oi, insuranceAvailable, _blockTimestamp());
        _openInterest = oi;
        emit FundingUpdated(0, 0, 0, funding.longIndex, funding.shortIndex, funding.insuranceFlow);
    }

    /// @inheritdoc IAmm
    function pokeIndex() external returns (bool valid, uint256 price) {
        return _recordIndex(_blockTimestamp());
    }

    /// @dev Reads the oracle and, if the price is valid, records it in the index history (the
    /// first valid price starts it). A price that does not fit the history's 88 bits is invalid.
    function _recordIndex(uint256 timestamp) private returns (bool valid, uint256 price) {
        IPriceFeed feed = _priceFeed;
        if (address(feed) == address(0)) return (false, 0);
        (valid, price) = feed.tryGetPrice(_asset);
        if (!valid || price > type(uint88).max) return (false, 0);
        bool recorded = true;
        if (!_indexHistory.isStarted())
            _indexHistory.start(timestamp, price);
            // A second read in the same block keeps the block's first price (as for the mark).
        else (, recorded) = _indexHistory.record(timestamp, _indexHistory.head.price, price);
        if (recorded) emit IndexRecorded(price);
    }

    // ---------------------------------------------------------------- pricing

    /// @dev Records the block's start in the mark history (first swap of a block only), writes the
    /// new reserves and checks the per-block price fluctuation limit. A closing trade may cross the
    /// limit only when it is the first swap of its block.
    function _commit(
        Reserves memory r,
        uint256 newQuote,
        uint256 newBase,
        Limits memory limits,
        bool isClosing
    ) private returns (uint256 timestamp) {
        timestamp = _blockTimestamp();
        uint256 priceBefore = uint256(r.quote).wDivDown(r.base);
        (PriceHistory.Head memory head, bool firstInBlock) = _markHistory.record(timestamp, priceBefore, priceBefore);
        _reserves = Reserves(newQuote.toUint128(), newBase.toUint128());
        if (limits.fluctuationLimitRatio == 0) return timestamp;

        uint256 priceAtBlockStart = head.price;
        uint256 priceAfter = newQuote.wDivDown(newBase);
        uint256 move = _distance(priceAfter, priceAtBlockStart);
        // A trade that leaves the price no further from the block's start than it found it is
        // allowed even outside the band (a closing trade may have crossed it first in the block).
        if (
            move > priceAtBlockStart.wMulDown(limits.fluctuationLimitRatio) &&
            move > _distance(priceBefore, priceAtBlockStart)
        ) {
            if (!(isClosing && firstInBlock)) revert PriceFluctuationLimitExceeded(priceAtBlockStart, priceAfter);
            // The first close of a block may cross the limit, so that a large position can always be
            // closed, but not to walk the price away from the index block after block.
            _checkIndexBand(priceBefore, priceAfter);
        }
    }

    /// @dev Reverts when a trade takes the price from `priceBefore` to `priceAfter` more than the
    /// index band from the index and further from it than before. The index is the recorded one, or
    /// the oracle's answer read now when none is recorded within MAX_INDEX_AGE (so an hour without
    /// a funding update cannot switch the band off); no check when the band is off or the oracle
    /// has no valid answer either.
    function _checkIndexBand(uint256 priceBefore, uint256 priceAfter) private view {
        uint256 band = _indexBandRatio;
        if (band == 0) return;
        PriceHistory.Head memory indexHead = _indexHistory.head;
        uint256 index = indexHead.price;
        if (indexHead.timestamp == 0 || _blockTimestamp() - indexHead.timestamp > MAX_INDEX_AGE) {
            IPriceFeed feed = _priceFeed;
            if (address(feed) == address(0)) return;
            bool valid;
            (valid, index) = feed.tryGetPrice(_asset);
            if (!valid) return;
        }
        uint256 maxDistance = index.wMulDown(band);
        uint256 distanceAfter = _distance(priceAfter, index);
        if (distanceAfter > maxDistance && distanceAfter > _distance(priceBefore, index)) {
            revert IndexBandExceeded(index, priceAfter, maxDistance);
        }
    }

    function _distance(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a - b : b - a;
    }

    /// @dev Accrues funding to now on the open interest as it stood, then moves the long and short
    /// totals from the trader's old size to the new one.
    function _accrueAndMoveOpenInterest(
        int256 sizeBefore,
        int256 sizeAfter,
        uint256 cap,
        uint256 insuranceAvailable,
        uint256 timestamp
    ) private returns (FundingSnapshot memory funding) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        funding = _funding.accrue(oi, insuranceAvailable, timestamp);
        uint256 longSize = oi.longSize - _longPart(sizeBefore) + _longPart(sizeAfter);
        uint256 shortSize = oi.shortSize - _shortPart(sizeBefore) + _shortPart(sizeAfter);
        // Only growth is capped: reducing exposure must always be possible.
        if (cap != 0) {
            if (longSize > oi.longSize && longSize > cap) revert OpenInterestCapExceeded(longSize, cap);
            if (shortSize > oi.shortSize && shortSize > cap) revert OpenInterestCapExceeded(shortSize, cap);
        }
        _openInterest = FundingPeriod.OpenInterest(longSize.toUint104(), shortSize.toUint104(), uint40(timestamp));
    }

    function _longPart(int256 size) private pure returns (uint256) {
        return size > 0 ? uint256(size) : 0;
    }

    function _shortPart(int256 size) private pure returns (uint256) {
        return size < 0 ? uint256(-size) : 0;
    }

    /// @dev The one place the contract reads the time. A block is identified by its timestamp,
    /// which strictly increases on Ethereum and the OP Stack (unlike block.number, whose meaning
    /// differs between L2s); where blocks share a timestamp, the per-block rules apply per second,
    /// which is stricter.
    function _blockTimestamp() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IAmm
    function setLimits(Limits calldata limits) external onlyOwner {
        _setLimits(limits);
    }

    function _setLimits(Limits memory limits) private {
        if (limits.maxTradeRatio > FixedPoint.WAD) revert RatioTooHigh(limits.maxTradeRatio);
        if (limits.fluctuationLimitRatio > FixedPoint.WAD) revert RatioTooHigh(limits.fluctuationLimitRatio);
        _limits = limits;
        emit LimitsUpdated(limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest);
    }

    /// @inheritdoc IAmm
    function setIndexBand(uint256 indexBandRatio) external onlyOwner {
        if (indexBandRatio != 0 && (indexBandRatio < MIN_INDEX_BAND || indexBandRatio > MAX_INDEX_BAND)) {
            revert IndexBandOutOfRange(indexBandRatio);
        }
        _indexBandRatio = uint64(indexBandRatio);
        emit IndexBandUpdated(indexBandRatio);
    }

    /// @inheritdoc IAmm
    function getIndexBand() external view returns (uint256) {
        return _indexBandRatio;
    }

    /// @inheritdoc IAmm
    function setOracle(IPriceFeed priceFeed, bytes32 asset) external onlyOwner {
        if (address(priceFeed) == address(0)) revert ZeroPriceFeed();
        _priceFeed = priceFeed;
        _asset = asset;
        emit OracleSet(address(priceFeed), asset);
    }

    /// @inheritdoc IAmm
    function setFundingParams(FundingParams calldata params) external onlyOwner {
        _setFundingParams(params);
    }

    function _setFundingParams(FundingParams memory params) private {
        _funding.setParams(params);
        emit FundingParamsUpdated(params.maxPremiumRatio, params.minUpdateInterval, params.maxAccrualPeriod);
    }

    /// @inheritdoc IAmm
    function setFundingSubsidyRatio(uint256 maxFundingSubsidyRatio) external onlyOwner {
        _setFundingSubsidyRatio(maxFundingSubsidyRatio);
    }

    function _setFundingSubsidyRatio(uint256 maxFundingSubsidyRatio) private {
        _funding.setSubsidyRatio(maxFundingSubsidyRatio);
        emit FundingSubsidyRatioUpdated(maxFundingSubsidyRatio);
    }

    /// @inheritdoc IAmm
    function getFundingSubsidyRatio() external view returns (uint256) {
        return _funding.params.maxSubsidyRatio;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IAmm
    function previewSwapQuote(Side side, uint256 quoteAmount) external view returns (uint256 baseAmount) {
        Reserves memory r = _reserves;
        (, uint256 newBase) = CurveMath.afterQuoteSwap(r.quote, r.base, side, quoteAmount);
        return side == Side.LONG ? r.base - newBase : newBase - r.base;
    }

    /// @inheritdoc IAmm
    function previewSwapBase(int256 traderSizeBefore, uint256 baseAmount) external view returns (uint256 quoteAmount) {
        Reserves memory r = _reserves;
        (uint256 newQuote, ) = CurveMath.afterBaseSwap(r.quote, r.base, traderSizeBefore, baseAmount);
        return traderSizeBefore > 0 ? r.quote - newQuote : newQuote - r.quote;
    }

    /// @inheritdoc IAmm
    function getReserves() external view returns (uint256 quoteReserve, uint256 baseReserve) {
        Reserves memory r = _reserves;
        return (r.quote, r.base);
    }

    /// @inheritdoc IAmm
    function getSpotPrice() external view returns (uint256) {
        Reserves memory r = _reserves;
        return uint256(r.quote).wDivDown(r.base);
    }

    /// @inheritdoc IAmm
    function getMarkTwap(uint256 interval) external view returns (uint256) {
        Reserves memory r = _reserves;
        return _markHistory.twap(_blockTimestamp(), uint256(r.quote).wDivDown(r.base), interval);
    }

    /// @inheritdoc IAmm
    function getValuationPrices(
        uint256 twapInterval
    ) external view returns (uint256 spotPrice, uint256 markTwap, uint256 indexPrice) {
        return _valuationPrices(_reserves, twapInterval);
    }

    function _valuationPrices(
        Reserves memory r,
        uint256 twapInterval
    ) private view returns (uint256 spotPrice, uint256 markTwap, uint256 indexPrice) {
        spotPrice = uint256(r.quote).wDivDown(r.base);
        uint256 timestamp = _blockTimestamp();
        markTwap = _markHistory.twap(timestamp, spotPrice, twapInterval);
        // The recorded index, not a fresh oracle read: one slot instead of two cold contracts.
        PriceHistory.Head memory indexHead = _indexHistory.head;
        if (indexHead.timestamp != 0 && timestamp - indexHead.timestamp <= MAX_INDEX_AGE) indexPrice = indexHead.price;
    }

    /// @inheritdoc IAmm
    function maxCloseBase(bool closingLong) external view returns (uint256) {
        return _maxCloseBase(closingLong);
    }

    function _maxCloseBase(bool closingLong) private view returns (uint256) {
        uint256 limitRatio = _limits.fluctuationLimitRatio;
        if (limitRatio == 0) return type(uint256).max;
        Reserves memory r = _reserves;
        uint256 spotPrice = uint256(r.quote).wDivDown(r.base);
        PriceHistory.Head memory head = _markHistory.head;
        uint256 blockStartPrice = head.timestamp == _blockTimestamp() ? head.price : spotPrice;
        // 99% of the allowance, so the pool's rounding never tips the trade over the limit.
        uint256 allowance = limitRatio.wMulDown(0.99e18);
        // On the curve, price = k / base^2: the base reserve at a bound price p is sqrt(k / p).
        if (closingLong) {
            uint256 floorPrice = blockStartPrice.wMulUp(FixedPoint.WAD - Math.min(allowance, FixedPoint.WAD));
            if (floorPrice >= spotPrice) return 0;
            uint256 baseAtFloor = Math.sqrt(Math.mulDiv(r.quote, uint256(r.base) * FixedPoint.WAD, floorPrice));
            return baseAtFloor - r.base;
        }
        uint256 capPrice = blockStartPrice.wMulDown(FixedPoint.WAD + allowance);
        if (capPrice <= spotPrice) return 0;
        uint256 baseAtCap = Math.sqrt(
            Math.mulDiv(r.quote, uint256(r.base) * FixedPoint.WAD, capPrice),
            Math.Rounding.Ceil
        );
        return r.base - baseAtCap;
    }

    /// @inheritdoc IAmm
    function getOpenInterest() external view returns (uint256 longSize, uint256 shortSize) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        return (oi.longSize, oi.shortSize);
    }

    /// @inheritdoc IAmm
    function getLimits() external view returns (Limits memory) {
        return _limits;
    }

    /// @inheritdoc IAmm
    function getIndexTwap(uint256 interval) external view returns (uint256) {
        if (!_indexHistory.isStarted()) revert NoIndexPrice();
        uint256 price = _indexHistory.head.price;
        return _indexHistory.twap(_blockTimestamp(), price, interval);
    }

    /// @inheritdoc IAmm
    function getFundingIndices(uint256 insuranceAvailable) external view returns (FundingSnapshot memory funding) {
        (funding, , ) = _funding.indicesAt(_openInterest, _funding.period, insuranceAvailable, _blockTimestamp());
    }

    /// @inheritdoc IAmm
    function getLiquidationInputs(
        uint256 twapInterval,
        bool closingLong,
        uint256 insuranceAvailable
    ) external view returns (LiquidationInputs memory inputs) {
        (inputs.funding, , ) = _funding.indicesAt(
            _openInterest,
            _funding.period,
            insuranceAvailable,
            _blockTimestamp()
        );
        Reserves memory r = _reserves;
        (inputs.spotPrice, inputs.markTwap, inputs.indexPrice) = _valuationPrices(r, twapInterval);
        inputs.maxCloseBase = _maxCloseBase(closingLong);
        (inputs.quoteReserve, inputs.baseReserve) = (r.quote, r.base);
    }

    /// @inheritdoc IAmm
    function getFundingState()
        external
        view
        returns (int256 premium, uint256 updatedAt, uint256 accruedAt, FundingParams memory params)
    {
        FundingPeriod.Period memory period = _funding.period;
        return (period.premium, period.updatedAt, _openInterest.accruedAt, _funding.fundingParams());
    }

    /// @inheritdoc IAmm
    function getOracle() external view returns (IPriceFeed priceFeed, bytes32 asset) {
        return (_priceFeed, _asset);
    }
}
