// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {CurveMath} from "./libraries/CurveMath.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {Funding} from "./libraries/Funding.sol";
import {PriceHistory} from "./libraries/PriceHistory.sol";

/// @title Amm
/// @notice One virtual x*y=k market: its reserves, limits, open interest, mark and index price
/// histories and funding indices. See {IAmm}.
/// @dev The pricing function (`_swap*` and `_preview*`) and the reserve state live here and only
/// here, so a later re-peg or k adjustment changes one place. k is never stored: it is the product
/// of the reserves, and every swap rounds the reserve it computes up, so k can only grow by dust.
/// Funding lives here too, beside the open interest it depends on: every swap accrues it first
/// (one extra slot read and write), so the insurance fund's share is settled with the trade that
/// changes the open interest, exactly, and no separate bookkeeping of it is needed.
contract Amm is IAmm, Ownable2Step {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using PriceHistory for PriceHistory.History;

    // ---------------------------------------------------------------- constants

    /// @notice Highest `maxPremiumRatio`: 100% of the index per day.
    uint256 public constant MAX_PREMIUM_RATIO_LIMIT = 1e18;
    /// @notice Oldest recorded index price that {getValuationPrices} still answers with (seconds).
    uint256 public constant MAX_INDEX_AGE = 1 hours;
    /// @notice Shortest `minUpdateInterval`, the shortest funding window (seconds).
    uint256 public constant MIN_FUNDING_WINDOW = 60;
    /// @notice Longest `minUpdateInterval` (seconds).
    uint256 public constant MAX_FUNDING_WINDOW = 1 days;

    // ---------------------------------------------------------------- immutables

    /// @inheritdoc IAmm
    address public immutable clearingHouse;

    // ---------------------------------------------------------------- storage

    struct Reserves {
        uint128 quote;
        uint128 base;
    }

    /// @dev Written by every swap, so it also carries the time funding was last accrued to.
    struct OpenInterest {
        uint104 longSize;
        uint104 shortSize;
        uint40 fundingAccruedAt;
    }

    /// @dev The funding indices at the start of the current period (`FundingState.updatedAt`),
    /// less what the receiving side was denied when the insurance fund could not pay: the indices
    /// at any time of the period are these plus {Funding.growth} (see `_fundingAt`), so time
    /// passing writes nothing.
    struct FundingIndices {
        int128 long;
        int128 short;
    }

    /// @dev The current funding period, in one slot that every swap reads: the premium set at
    /// `updatedAt`, and when accrual stops (`maxAccrualPeriod` after it, fixed for the period so a
    /// parameter change never rewrites time already accrued).
    struct FundingState {
        int96 premium;
        uint40 updatedAt;
        uint40 accrualEnd;
    }

    /// @dev The mark and index cumulatives at the last funding update, so the next update averages
    /// its whole window in O(1). `hasIndex`: the index history had started by then.
    struct FundingCheckpoint {
        uint120 markCumulative;
        uint120 indexCumulative;
        bool hasIndex;
    }

    Reserves private _reserves;
    Limits private _limits;
    OpenInterest private _openInterest;
    /// @dev Mark price history. Its head, written at the first swap of each block, also holds the
    /// spot price at the block's start, which the fluctuation limit measures against.
    PriceHistory.History private _markHistory;
    FundingIndices private _fundingIndices;
    FundingState private _fundingState;
    FundingParams private _fundingParams;
    FundingCheckpoint private _fundingCheckpoint;
    /// @dev Index price history, written by funding updates and pokes; unstarted until the first
    /// valid oracle price.
    PriceHistory.History private _indexHistory;
    IPriceFeed private _priceFeed;
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
        _openInterest.fundingAccruedAt = timestamp.toUint40();
        _fundingState = FundingState(0, uint40(timestamp), uint40(timestamp));
        _setFundingParams(FundingParams(0.1e18, 300, 3600));
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
        uint256 timestamp = _blockTimestamp();
        FundingState memory state = _fundingState;
        FundingParams memory params = _fundingParams;
        uint256 window = timestamp - state.updatedAt;
        if (window < params.minUpdateInterval) {
            revert FundingUpdateTooEarly(uint256(state.updatedAt) + params.minUpdateInterval);
        }
        funding = _endPeriod(state, insuranceAvailable, timestamp);

        uint256 markTwap;
        uint256 indexTwap;
        (premium, markTwap, indexTwap) = _closeWindow(timestamp, window, params.maxPremiumRatio, frozen);
        _fundingState = FundingState(
            SafeCast.toInt96(premium),
            uint40(timestamp),
            SafeCast.toUint40(timestamp + params.maxAccrualPeriod)
        );
        emit FundingUpdated(premium, markTwap, indexTwap, funding.longIndex, funding.shortIndex, funding.insuranceFlow);
    }

    /// @inheritdoc IAmm
    function shutdown(uint256 insuranceAvailable) external onlyClearingHouse returns (FundingSnapshot memory funding) {
        uint256 timestamp = _blockTimestamp();
        funding = _endPeriod(_fundingState, insuranceAvailable, timestamp);
        // A zero premium from now on: the indices never move again.
        _fundingState = FundingState(0, uint40(timestamp), uint40(timestamp));
        emit FundingUpdated(0, 0, 0, funding.longIndex, funding.shortIndex, funding.insuranceFlow);
    }

    /// @dev Settles the current period up to `timestamp` at its own premium and stores the indices
    /// reached as the next period's base.
    function _endPeriod(
        FundingState memory state,
        uint256 insuranceAvailable,
        uint256 timestamp
    ) private returns (FundingSnapshot memory funding) {
        OpenInterest memory oi = _openInterest;
        (funding, , ) = _fundingAt(oi, state, insuranceAvailable, timestamp);
        _fundingIndices = FundingIndices(SafeCast.toInt128(funding.longIndex), SafeCast.toInt128(funding.shortIndex));
        oi.fundingAccruedAt = uint40(timestamp);
        _openInterest = oi;
    }

    /// @dev Records the index, averages mark and index over the window that ends now, checkpoints
    /// both cumulatives for the next window and returns the new premium (0 while frozen, without a
    /// valid index now, or without index history over the whole window; the TWAPs are then 0 too).
    function _closeWindow(
        uint256 timestamp,
        uint256 window,
        uint256 maxPremiumRatio,
        bool frozen
    ) private returns (int256 premium, uint256 markTwap, uint256 indexTwap) {
        bool hadIndex = _indexHistory.isStarted();
        (bool indexValid, ) = _recordIndex(timestamp);
        FundingCheckpoint memory checkpoint = _fundingCheckpoint;
        Reserves memory r = _reserves;
        uint120 markCumulative = _markHistory.cumulativeAt(timestamp, uint256(r.quote).wDivDown(r.base));
        // An index history started just now begins at cumulative 0.
        uint120 indexCumulative = hadIndex ? _indexHistory.cumulativeAt(timestamp, _indexHistory.head.price) : 0;
        // The history is started now if it was before or this valid read started it.
        _fundingCheckpoint = FundingCheckpoint(markCumulative, indexCumulative, hadIndex || indexValid);
        if (frozen || !indexValid || !checkpoint.hasIndex) return (0, 0, 0);
        unchecked {
            // Cumulatives wrap; their differences over a window are exact (see {PriceHistory}).
            markTwap = uint256(markCumulative - checkpoint.markCumulative) / window;
            indexTwap = uint256(indexCumulative - checkpoint.indexCumulative) / window;
        }
        premium = _premium(markTwap, indexTwap, maxPremiumRatio);
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

    /// @dev markTwap - indexTwap, clamped to +/- maxPremiumRatio x indexTwap.
    function _premium(uint256 markTwap, uint256 indexTwap, uint256 maxPremiumRatio) private pure returns (int256) {
        uint256 bound = indexTwap.wMulDown(maxPremiumRatio);
        if (markTwap >= indexTwap) return int256(Math.min(markTwap - indexTwap, bound));
        return -int256(Math.min(indexTwap - markTwap, bound));
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
            move > _distance(priceBefore, priceAtBlockStart) &&
            !(isClosing && firstInBlock)
        ) revert PriceFluctuationLimitExceeded(priceAtBlockStart, priceAfter);
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
        OpenInterest memory oi = _openInterest;
        funding = _accrueFunding(oi, _fundingState, insuranceAvailable, timestamp);
        uint256 longSize = oi.longSize - _longPart(sizeBefore) + _longPart(sizeAfter);
        uint256 shortSize = oi.shortSize - _shortPart(sizeBefore) + _shortPart(sizeAfter);
        // Only growth is capped: reducing exposure must always be possible.
        if (cap != 0) {
            if (longSize > oi.longSize && longSize > cap) revert OpenInterestCapExceeded(longSize, cap);
            if (shortSize > oi.shortSize && shortSize > cap) revert OpenInterestCapExceeded(shortSize, cap);
        }
        _openInterest = OpenInterest(longSize.toUint104(), shortSize.toUint104(), uint40(timestamp));
    }

    /// @dev Accrues funding from `oi.fundingAccruedAt` to `timestamp` on the open interest `oi`,
    /// and returns the indices with the insurance fund's share. Writes the indices only when the
    /// fund could not pay in full. The caller stores `oi` with the new time.
    function _accrueFunding(
        OpenInterest memory oi,
        FundingState memory state,
        uint256 insuranceAvailable,
        uint256 timestamp
    ) private returns (FundingSnapshot memory funding) {
        FundingIndices memory base;
        bool rebased;
        (funding, base, rebased) = _fundingAt(oi, state, insuranceAvailable, timestamp);
        if (rebased) _fundingIndices = base;
    }

    /// @dev The indices at `timestamp` after the stretch since `oi.fundingAccruedAt` is split with
    /// the insurance fund; `rebased` when the fund could not pay in full, with the period's new
    /// base indices. Funding stops `maxAccrualPeriod` into a period.
    function _fundingAt(
        OpenInterest memory oi,
        FundingState memory state,
        uint256 insuranceAvailable,
        uint256 timestamp
    ) private view returns (FundingSnapshot memory funding, FundingIndices memory base, bool rebased) {
        base = _fundingIndices;
        funding = FundingSnapshot(base.long, base.short, 0);
        if (state.premium == 0) return (funding, base, false);
        Stretch memory st = _stretch(state, oi.fundingAccruedAt, timestamp);
        (int256 longDelta, int256 shortDelta, int256 insuranceFlow) = Funding.split(
            state.premium,
            oi.longSize,
            oi.shortSize,
            st.paidNow - st.paidBefore,
            st.receivedNow - st.receivedBefore,
            insuranceAvailable
        );
        funding.insuranceFlow = insuranceFlow;
        // The indices at the stretch's start, moved by the stretch's split.
        if (state.premium > 0) {
            funding.longIndex += int256(st.paidBefore) + longDelta;
            funding.shortIndex += int256(st.receivedBefore) + shortDelta;
            rebased = uint256(shortDelta) != st.receivedNow - st.receivedBefore;
            if (rebased) base.short = SafeCast.toInt128(funding.shortIndex - int256(st.receivedNow));
        } else {
            funding.longIndex += longDelta - int256(st.receivedBefore);
            funding.shortIndex += shortDelta - int256(st.paidBefore);
            rebased = uint256(-longDelta) != st.receivedNow - st.receivedBefore;
            if (rebased) base.long = SafeCast.toInt128(funding.longIndex + int256(st.receivedNow));
        }
    }

    /// @dev Per-unit growth since the period's start, at the start of a stretch and at its end.
    struct Stretch {
        uint256 paidBefore;
        uint256 receivedBefore;
        uint256 paidNow;
        uint256 receivedNow;
    }

    function _stretch(
        FundingState memory state,
        uint256 accruedAt,
        uint256 timestamp
    ) private pure returns (Stretch memory st) {
        uint256 end = state.accrualEnd;
        (st.paidBefore, st.receivedBefore) = Funding.growth(state.premium, Math.min(accruedAt, end) - state.updatedAt);
        (st.paidNow, st.receivedNow) = Funding.growth(state.premium, Math.min(timestamp, end) - state.updatedAt);
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
        if (params.maxPremiumRatio > MAX_PREMIUM_RATIO_LIMIT) revert RatioTooHigh(params.maxPremiumRatio);
        if (params.minUpdateInterval < MIN_FUNDING_WINDOW || params.minUpdateInterval > MAX_FUNDING_WINDOW) {
            revert InvalidFundingWindow(params.minUpdateInterval);
        }
        // Funding must be able to run from one update to the next.
        if (params.maxAccrualPeriod < params.minUpdateInterval) {
            revert InvalidAccrualPeriod(params.maxAccrualPeriod, params.minUpdateInterval);
        }
        _fundingParams = params;
        emit FundingParamsUpdated(params.maxPremiumRatio, params.minUpdateInterval, params.maxAccrualPeriod);
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
        Reserves memory r = _reserves;
        spotPrice = uint256(r.quote).wDivDown(r.base);
        uint256 timestamp = _blockTimestamp();
        markTwap = _markHistory.twap(timestamp, spotPrice, twapInterval);
        // The recorded index, not a fresh oracle read: one slot instead of two cold contracts.
        PriceHistory.Head memory indexHead = _indexHistory.head;
        if (indexHead.timestamp != 0 && timestamp - indexHead.timestamp <= MAX_INDEX_AGE) indexPrice = indexHead.price;
    }

    /// @inheritdoc IAmm
    function maxCloseBase(bool closingLong) external view returns (uint256) {
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
        OpenInterest memory oi = _openInterest;
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
        (funding, , ) = _fundingAt(_openInterest, _fundingState, insuranceAvailable, _blockTimestamp());
    }

    /// @inheritdoc IAmm
    function getFundingState()
        external
        view
        returns (int256 premium, uint256 updatedAt, uint256 accruedAt, FundingParams memory params)
    {
        FundingState memory state = _fundingState;
        return (state.premium, state.updatedAt, _openInterest.fundingAccruedAt, _fundingParams);
    }

    /// @inheritdoc IAmm
    function getOracle() external view returns (IPriceFeed priceFeed, bytes32 asset) {
        return (_priceFeed, _asset);
    }
}
