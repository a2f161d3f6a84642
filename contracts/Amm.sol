// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {IAmmCurve} from "./interfaces/IAmmCurve.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {CurveMath} from "./libraries/CurveMath.sol";
import {Delegation} from "./libraries/Delegation.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {FundingPeriod} from "./libraries/FundingPeriod.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {PriceBand} from "./libraries/PriceBand.sol";
import {PriceHistory} from "./libraries/PriceHistory.sol";
import {AmmCurveModule} from "./amm/AmmCurveModule.sol";
import {AmmStorage} from "./amm/AmmStorage.sol";

/// @title Amm
/// @notice One virtual x*y=k market: its reserves, limits, open interest and mark and index price
/// histories, and its funding (see {FundingPeriod}). See {IAmm}.
/// @dev The pricing function (`_reservesAfter*`) and the reserve state live here and only here, so
/// a later re-peg or k adjustment changes one place. k is never stored: it is the product of the
/// reserves, and every swap rounds the reserve it computes up, so k can only grow by dust.
/// Every swap accrues funding first, on the open interest as it stood, and writes the time accrued
/// to in the open interest's slot (one extra slot read: the period's), so the insurance fund's share
/// is settled with the trade that changes the open interest, exactly.
/// The dynamic curve ({IAmmCurve}): the trade path's part (the repeg check, the spread, the vAMM
/// leverage bound) runs here, switched by flags in the open interest's slot so a static market
/// reads nothing more; the curve's moves, parameters and views run in {AmmCurveModule}, deployed once
/// for every market and given to the constructor, which the Amm calls by DELEGATECALL on the storage
/// both share ({AmmStorage}).
contract Amm is IAmm, AmmStorage {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using PriceHistory for PriceHistory.History;
    using FundingPeriod for FundingPeriod.State;

    // ---------------------------------------------------------------- constants

    /// @notice Highest `maxPremiumRatio`: 100% of the index per day.
    uint256 public constant MAX_PREMIUM_RATIO_LIMIT = FundingPeriod.MAX_PREMIUM_RATIO_LIMIT;
    /// @notice Oldest recorded index price that {getValuationPrices} still answers with (seconds).
    uint256 public constant MAX_INDEX_AGE = FRESH_INDEX_AGE;
    /// @notice Narrowest non-zero index band: 0.5% of the index.
    uint256 public constant MIN_INDEX_BAND = INDEX_BAND_MIN;
    /// @notice Widest index band: 50% of the index.
    uint256 public constant MAX_INDEX_BAND = INDEX_BAND_MAX;
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

    /// @notice The module that runs the dynamic curve's moves and parameters and the market's cold
    /// administration ({IAmmCurve}).
    address public immutable curveModule;

    /// @dev The module that serves the views ({AmmViewModule}): the curve module's `viewModule`.
    address private immutable _viewModule;

    // ---------------------------------------------------------------- transient

    /// @dev A valuation ran the repeg check for the swap that follows it in the same transaction
    /// ({repegAndGetReserves}, {repegAndGetLiquidationInputs}, {holdCurveForClose}): that swap trades
    /// on the curve the ClearingHouse valued and sized it on (it runs no check of its own), reports
    /// the repeg's cost as its own and keeps its right to open the block. One word, cleared by that
    /// swap: bit 0 set (a check ran), bit 1 the repeg opened the block, bit 2 funding was accrued
    /// to now before the repeg (a swap's order), the bits above the repeg's cost.
    uint256 private transient _valuationRepeg;
    /// @dev The snapshot of the funding a valuation accrued to now before its repeg ({_valuationRepeg}
    /// bit 2): the indices and the insurance fund's share (the budget's share is booked). The swap
    /// returns it rather than accrue again over its empty stretch, which would find the same indices
    /// and no flow ({FundingPeriod-indicesAt}), and clears the three words ({_accrue}).
    int256 private transient _valuationLongIndex;
    int256 private transient _valuationShortIndex;
    int256 private transient _valuationFundFlow;

    // ---------------------------------------------------------------- constructor

    /// @param clearingHouse_ The only caller allowed to swap.
    /// @param quoteReserve Initial virtual quote reserve (18 decimals).
    /// @param baseReserve Initial virtual base reserve (18 decimals); the price is their ratio.
    /// @param limits Initial risk limits (0 = off).
    /// @param owner_ Who may change the limits.
    /// @param curveModule_ The {AmmCurveModule} the Amm runs by DELEGATECALL (one deployment serves
    /// every market: it holds no state of its own); its kind is checked.
    constructor(
        address clearingHouse_,
        uint256 quoteReserve,
        uint256 baseReserve,
        Limits memory limits,
        address owner_,
        address curveModule_
    ) Ownable(owner_) {
        if (clearingHouse_ == address(0)) revert ZeroClearingHouse();
        if (curveModule_.code.length == 0) revert InvalidCurveModule(curveModule_);
        try AmmCurveModule(curveModule_).CURVE_MODULE_KIND() returns (bytes32 kind) {
            if (kind != keccak256("vamm.Amm.CurveModule")) revert InvalidCurveModule(curveModule_);
        } catch {
            revert InvalidCurveModule(curveModule_);
        }
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
        // A static curve until the owner sets curve parameters.
        _repegBook = RepegBook(0, uint128(FixedPoint.WAD));
        _depthConfig = DepthConfig(0, uint64(FixedPoint.WAD), uint64(FixedPoint.WAD), uint64(FixedPoint.WAD));
        curveModule = curveModule_;
        _viewModule = AmmCurveModule(curveModule_).viewModule();
    }

    modifier onlyClearingHouse() {
        if (msg.sender != clearingHouse) revert OnlyClearingHouse(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- swaps

    /// @dev What the steps of one swap share, read once: the spot price of the reserves it trades
    /// on (after any repeg); on a dynamic curve the fresh index (0: none; INDEX_UNREAD on a static
    /// curve, where only the index band reads it, if it needs it) and whether a repeg before the
    /// swap opened the block (see {_commit}); what the insurance fund holds (the caller's figure);
    /// the market's limits with its index band ({RiskLimits}) and, on a dynamic curve, its parameters.
    /// Built once by the swap as a literal (a function returning it would allocate it twice).
    struct SwapContext {
        uint256 priceBefore;
        uint256 index;
        bool repegOpenedBlock;
        uint256 insuranceAvailable;
        RiskLimits limits;
        Budget budget;
    }

    /// @dev {SwapContext-index} on a static curve: not read.
    uint256 private constant INDEX_UNREAD = type(uint256).max;

    /// @inheritdoc IAmm
    function swapQuote(
        Side side,
        uint256 quoteAmount,
        int256 traderSizeBefore,
        uint256 insuranceAvailable
    )
        external
        onlyClearingHouse
        returns (
            uint256 baseAmount,
            FundingSnapshot memory funding,
            uint256 spreadFee,
            uint256 curveCost,
            uint256 notionalBefore
        )
    {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        funding = _accrue(oi, insuranceAvailable);
        SwapContext memory ctx = SwapContext(
            0,
            INDEX_UNREAD,
            false,
            insuranceAvailable,
            _limits,
            Budget(0, 0, 0, 0, 0)
        );
        if (oi.curveFlags & (FLAG_REPEG | FLAG_SPREAD | FLAG_LEVERAGE) != 0)
            curveCost = _beforeSwap(ctx, oi.curveFlags);
        Reserves memory r = _reserves;
        ctx.priceBefore = _spotPrice(r);
        // The value of the position it grows on the curve the trade runs on (after any repeg).
        if (traderSizeBefore != 0 && (traderSizeBefore > 0) == (side == Side.LONG)) {
            notionalBefore = PositionMath.notionalAtReserves(traderSizeBefore, r.quote, r.base);
        }
        int256 traderSizeAfter;
        (baseAmount, traderSizeAfter) = _tradeOnCurve(r, ctx, side, quoteAmount, traderSizeBefore);
        spreadFee = _settleSwap(quoteAmount, traderSizeBefore, traderSizeAfter, r, oi, ctx);
    }

    /// @dev The swap of a trade by quote on reserves `r`: the trade-size limit, the index band for
    /// growing exposure, the commit of the new reserves (see {_commit}) and the Swapped event.
    function _tradeOnCurve(
        Reserves memory r,
        SwapContext memory ctx,
        Side side,
        uint256 quoteAmount,
        int256 traderSizeBefore
    ) private returns (uint256 baseAmount, int256 traderSizeAfter) {
        uint256 maxTradeRatio = ctx.limits.maxTradeRatio;
        if (maxTradeRatio != 0) {
            uint256 maxQuote = uint256(r.quote).wMulDown(maxTradeRatio);
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
        traderSizeAfter =
            side == Side.LONG ? traderSizeBefore + int256(baseAmount) : traderSizeBefore - int256(baseAmount);
        uint256 priceAfter = newQuote.wDivDown(newBase);
        // Growing exposure must respect the index band; reducing it never is refused for it.
        if (traderSizeBefore == 0 || (traderSizeBefore > 0) == (side == Side.LONG)) {
            _checkIndexBand(ctx, priceAfter);
        }
        _commit(ctx, newQuote, newBase, priceAfter, false);
        emit Swapped(int256(newQuote) - int256(uint256(r.quote)), baseDelta, newQuote, newBase);
    }

    /// @inheritdoc IAmm
    function swapBase(
        int256 traderSizeBefore,
        uint256 baseAmount,
        uint256 insuranceAvailable
    )
        external
        onlyClearingHouse
        returns (uint256 quoteAmount, FundingSnapshot memory funding, uint256 spreadFee, uint256 curveCost)
    {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        funding = _accrue(oi, insuranceAvailable);
        SwapContext memory ctx = SwapContext(
            0,
            INDEX_UNREAD,
            false,
            insuranceAvailable,
            _limits,
            Budget(0, 0, 0, 0, 0)
        );
        if (oi.curveFlags & (FLAG_REPEG | FLAG_SPREAD | FLAG_LEVERAGE) != 0)
            curveCost = _beforeSwap(ctx, oi.curveFlags);
        Reserves memory r = _reserves;
        ctx.priceBefore = _spotPrice(r);
        int256 traderSizeAfter;
        (quoteAmount, traderSizeAfter) = _closeOnCurve(r, ctx, traderSizeBefore, baseAmount);
        spreadFee = _settleSwap(quoteAmount, traderSizeBefore, traderSizeAfter, r, oi, ctx);
    }

    /// @dev The dynamic curve's step before a swap (`flags`: the curve's switches, some on), after
    /// its funding accrual: reads the budget's slot (the budget, its target, the repeg threshold and
    /// the spread's bounds: {Budget}) and the fresh index once for the whole swap into `ctx`, and
    /// repegs toward the index (in the module) when the spot is more than the repeg threshold from
    /// it, unless a valuation before the swap checked ({_valuationRepeg}):
    /// then it reports that check's repeg ({_accrue} reported the funding that valuation accrued).
    /// Returns what the repeg cost the budget.
    function _beforeSwap(SwapContext memory ctx, uint8 flags) private returns (uint256 cost) {
        Budget memory budget = _budget;
        ctx.budget = budget;
        uint256 index = _freshIndex();
        ctx.index = index;
        if (flags & FLAG_REPEG == 0) return 0;
        uint256 checked = _valuationRepeg;
        if (checked == 0) {
            (cost, ctx.repegOpenedBlock) = _repegIfBeyond(index, _ratio(budget.repegThresholdSteps));
            // The repeg paid out of the budget: the swap's spread charges what it left.
            if (cost != 0) ctx.budget.amount = _budget.amount;
        } else {
            _valuationRepeg = 0;
            (cost, ctx.repegOpenedBlock) = (checked >> 3, checked & 2 != 0);
        }
    }

    /// @dev Repegs toward `index` (in the module) when the spot is more than `threshold` from it;
    /// returns the cost and whether the repeg opened the block.
    function _repegIfBeyond(uint256 index, uint256 threshold) private returns (uint256 cost, bool openedBlock) {
        if (_repegDue(_reserves, index, threshold)) (cost, openedBlock) = _repegTo(index);
    }

    /// @dev Repegs toward `index` in the module; returns the cost and whether it opened the block.
    function _repegTo(uint256 index) private returns (uint256 cost, bool openedBlock) {
        return abi.decode(_delegateCall(abi.encodeCall(AmmCurveModule.repeg, (index))), (uint256, bool));
    }

    /// @dev A valuation's repeg check, for the swap the ClearingHouse runs next (or reverts): on a
    /// curve that repegs, once until that swap; leaves its cost and block-opening right to it. A
    /// repeg runs in a swap's order: funding accrued to now first (the budget's share booked, the
    /// snapshot, with the fund's share from `insuranceAvailable`, handed to the swap), then the repeg.
    function _repegBeforeValuation(uint256 insuranceAvailable) private {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        if (oi.curveFlags & FLAG_REPEG == 0 || _valuationRepeg != 0) return;
        uint256 index = _freshIndex();
        if (!_repegDue(_reserves, index, _ratio(_budget.repegThresholdSteps))) {
            _valuationRepeg = 1;
            return;
        }
        FundingSnapshot memory funding = _accrue(oi, insuranceAvailable);
        (_valuationLongIndex, _valuationShortIndex, _valuationFundFlow) = (
            funding.longIndex,
            funding.shortIndex,
            funding.insuranceFlow
        );
        _openInterest.accruedAt = oi.accruedAt;
        (uint256 cost, bool openedBlock) = _repegTo(index);
        // cost <= the budget, a uint128: the shift cannot overflow.
        _valuationRepeg = (cost << 3) | (openedBlock ? 2 : 0) | 4 | 1;
    }

    /// @dev The tail both swaps share, after the reserves moved from `r`: the spread and the vAMM
    /// leverage bound when the curve has them on (see {_chargeCurve}), then the trader's size moved
    /// from `sizeBefore` to `sizeAfter` in the open interest `oi` (see {_moveOpenInterest}; the
    /// swap accrued funding on it first, {_accrue}). `notional`: the trade's quote amount.
    function _settleSwap(
        uint256 notional,
        int256 sizeBefore,
        int256 sizeAfter,
        Reserves memory r,
        FundingPeriod.OpenInterest memory oi,
        SwapContext memory ctx
    ) private returns (uint256 spreadFee) {
        if (oi.curveFlags & (FLAG_SPREAD | FLAG_LEVERAGE) != 0) {
            // Only a trade that grows the trader's own exposure is judged by the leverage bound: a
            // close, reduce or liquidation is never refused for the market's lack of funds.
            bool growsExposure = SignedMath.abs(sizeAfter) > SignedMath.abs(sizeBefore);
            spreadFee = _chargeCurve(r.base, oi, ctx, sizeAfter - sizeBefore, notional, growsExposure);
        }
        _moveOpenInterest(oi, sizeBefore, sizeAfter, ctx.limits.maxOpenInterest);
    }

    /// @dev The swap of a close: takes `baseAmount` of `sizeBefore` back on reserves `r`, commits
    /// the new reserves (see {_commit}) and emits Swapped.
    function _closeOnCurve(
        Reserves memory r,
        SwapContext memory ctx,
        int256 sizeBefore,
        uint256 baseAmount
    ) private returns (uint256 quoteAmount, int256 sizeAfter) {
        (uint256 newQuote, uint256 newBase) = CurveMath.afterBaseSwap(r.quote, r.base, sizeBefore, baseAmount);
        if (sizeBefore > 0) {
            // Closing a long: base goes back in, quote comes out.
            quoteAmount = r.quote - newQuote;
            sizeAfter = sizeBefore - int256(baseAmount);
        } else {
            quoteAmount = newQuote - r.quote;
            sizeAfter = sizeBefore + int256(baseAmount);
        }
        _commit(ctx, newQuote, newBase, newQuote.wDivDown(newBase), true);
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
    )
        external
        onlyClearingHouse
        returns (FundingSnapshot memory funding, int256 premium, uint256 curveCost, uint256 gainsToCollect)
    {
        uint256 markTwap;
        uint256 indexTwap;
        uint256 timestamp = _blockTimestamp();
        uint256 window;
        FundingPeriod.Params memory params;
        uint256 flags;
        {
            FundingPeriod.OpenInterest memory oi = _openInterest;
            FundingPeriod.Backers memory backers = _backers(insuranceAvailable);
            (funding, window, params) = _funding.closePeriod(oi, backers, timestamp);
            _openInterest = oi;
            flags = oi.curveFlags;
        }
        if (funding.budgetFlow != 0) _bookFundingFlow(funding.budgetFlow);
        (premium, markTwap, indexTwap) = _openFundingPeriod(window, params, frozen, timestamp);
        emit FundingUpdated(premium, markTwap, indexTwap, funding.longIndex, funding.shortIndex, funding.insuranceFlow);
        // The curve moves after the premium is set from the closed window, and not while paused.
        if (flags & (FLAG_REPEG | FLAG_DEPTH) != 0 && !frozen) {
            (curveCost, gainsToCollect) = abi.decode(
                _delegateCall(abi.encodeCall(AmmCurveModule.adjustAtFunding, (markTwap, indexTwap))),
                (uint256, uint256)
            );
        }
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
            _markHistory.cumulativeAt(timestamp, _spotPrice(r)),
            hadIndex ? _indexHistory.cumulativeAt(timestamp, _indexHistory.head.price) : 0,
            hadIndex || indexValid
        );
        return _funding.openPeriod(next, !frozen && indexValid, window, params, timestamp);
    }

    /// @inheritdoc IAmm
    function shutdown(uint256) external onlyClearingHouse returns (FundingSnapshot memory) {
        _delegate();
    }

    /// @inheritdoc IAmm
    function pokeIndex() external returns (bool valid, uint256 price) {
        return _recordIndex(_blockTimestamp());
    }

    /// @dev Reads the oracle and, if the price is valid, records it in the index history (the
    /// first valid price starts it). A price that does not fit the history's 88 bits is invalid.
    function _recordIndex(uint256 timestamp) private returns (bool valid, uint256 price) {
        (valid, price) = _readOracle();
        if (!valid || price > type(uint88).max) return (false, 0);
        bool recorded = true;
        if (!_indexHistory.isStarted())
            _indexHistory.start(timestamp, price);
            // A second read in the same block keeps the block's first price (as for the mark).
        else (, recorded) = _indexHistory.record(timestamp, _indexHistory.head.price, price);
        if (recorded) emit IndexRecorded(price);
    }

    /// @dev The oracle's answer for the market's asset; not valid when no oracle is set.
    function _readOracle() private view returns (bool valid, uint256 price) {
        IPriceFeed feed = _priceFeed;
        if (address(feed) == address(0)) return (false, 0);
        return feed.tryGetPrice(_asset);
    }

    // ---------------------------------------------------------------- pricing

    /// @dev Records the block's start in the mark history (first swap of a block only), writes the
    /// new reserves and checks the per-block price fluctuation limit. A closing trade may cross the
    /// limit only when it is the first swap of its block (a repeg it triggered that opened the block
    /// counts as part of it: `ctx.repegOpenedBlock`).
    function _commit(
        SwapContext memory ctx,
        uint256 newQuote,
        uint256 newBase,
        uint256 priceAfter,
        bool isClosing
    ) private {
        uint256 priceBefore = ctx.priceBefore;
        (PriceHistory.Head memory head, bool firstInBlock) = _markHistory.record(
            _blockTimestamp(),
            priceBefore,
            priceBefore
        );
        _reserves = Reserves(newQuote.toUint128(), newBase.toUint128());
        uint256 limitRatio = ctx.limits.fluctuationLimitRatio;
        if (limitRatio == 0) return;

        uint256 priceAtBlockStart = head.price;
        // A trade that leaves the price no further from the block's start than it found it is
        // allowed even outside the band (a closing trade may have crossed it first in the block).
        if (PriceBand.exceedsFluctuation(priceAtBlockStart, limitRatio, priceBefore, priceAfter)) {
            if (!(isClosing && (firstInBlock || ctx.repegOpenedBlock)))
                revert PriceFluctuationLimitExceeded(priceAtBlockStart, priceAfter);
            // The first close of a block may cross the limit, so that a large position can always be
            // closed, but not to walk the price away from the index block after block.
            _checkIndexBand(ctx, priceAfter);
        }
    }

    /// @dev Reverts when a trade takes the price from `ctx.priceBefore` to `priceAfter` more than
    /// the index band from the index and further from it than before ({PriceBand-checkIndexBand}).
    /// The index is the recorded one (`ctx.index` when the swap read it), or the oracle's answer
    /// read now when none is recorded within MAX_INDEX_AGE (so an hour without a funding update
    /// cannot switch the band off); no check when the band is off or the oracle has no valid answer
    /// either.
    function _checkIndexBand(SwapContext memory ctx, uint256 priceAfter) private view {
        uint256 band;
        unchecked {
            // A 24-bit count of steps times 1e12: no overflow.
            band = uint256(ctx.limits.indexBandSteps) * INDEX_BAND_STEP;
        }
        if (band == 0) return;
        uint256 index = ctx.index;
        if (index == INDEX_UNREAD) index = _freshIndex();
        if (index == 0) {
            bool valid;
            (valid, index) = _readOracle();
            if (!valid) return;
        }
        PriceBand.checkIndexBand(index, band, ctx.priceBefore, priceAfter);
    }

    // ---------------------------------------------------------------- dynamic curve (trade path)

    /// @dev A trade's spread, credited to the budget, and the vAMM leverage bound (only when the
    /// trade grows the trader's own exposure, `growsExposure`). `baseReserve` and
    /// `ctx.priceBefore`: the curve before the trade; `oi`: the open interest before it;
    /// `baseDelta`: the trader's base change (+ bought).
    function _chargeCurve(
        uint256 baseReserve,
        FundingPeriod.OpenInterest memory oi,
        SwapContext memory ctx,
        int256 baseDelta,
        uint256 notional,
        bool growsExposure
    ) private returns (uint256 spreadFee) {
        // The budget as the swap's first step read it (after any repeg it paid).
        Budget memory budget = ctx.budget;
        int256 netBefore = _netPosition(oi);
        if (oi.curveFlags & FLAG_SPREAD != 0) {
            uint256 ratio = _spreadRatio(
                budget,
                netBefore,
                netBefore + baseDelta,
                ctx.priceBefore,
                baseReserve,
                ctx.index
            );
            spreadFee = notional.wMulUp(ratio);
            if (spreadFee != 0) {
                uint96 amount = (budget.amount + spreadFee).toUint96();
                budget.amount = amount;
                _budget.amount = amount;
                emit SpreadCharged(ratio, spreadFee, amount);
            }
        }
        if (growsExposure && oi.curveFlags & FLAG_LEVERAGE != 0) {
            _checkVammLeverage(
                netBefore,
                netBefore + baseDelta,
                ctx.index != 0 ? ctx.index : ctx.priceBefore,
                budget.amount,
                ctx.insuranceAvailable
            );
        }
    }

    /// @dev Runs `data` in the curve module on this contract's storage; bubbles a revert up.
    function _delegateCall(bytes memory data) private returns (bytes memory result) {
        bool ok;
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = curveModule.delegatecall(data);
        if (!ok) {
            // solhint-disable-next-line no-inline-assembly
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @dev Runs this call's calldata in the curve module and returns or reverts with its answer.
    function _delegate() private {
        Delegation.forward(curveModule);
    }

    /// @dev A view served by the view module ({Delegation-forwardView}; {fallback} serves it).
    function _delegateView() private view {
        Delegation.forwardView();
    }

    /// @notice Serves {_delegateView}'s calls from this contract only: runs the calldata after the
    /// marker in the view module. Anything else is refused with {ICommonErrors-NotDelegated}.
    fallback() external {
        Delegation.serveView(_viewModule);
    }

    // ---------------------------------------------------------------- dynamic curve (module)

    /// @inheritdoc IAmmCurve
    function setCurveParams(CurveParams calldata) external {
        _delegate();
    }

    /// @inheritdoc IAmmCurve
    function creditBudget(uint256) external onlyClearingHouse {
        _delegate();
    }

    /// @inheritdoc IAmmCurve
    function collectGains(uint256) external onlyClearingHouse returns (uint256) {
        _delegate();
    }

    /// @inheritdoc IAmmCurve
    function releaseBudget() external onlyClearingHouse returns (uint256 budget) {
        _delegate();
    }

    /// @inheritdoc IAmmCurve
    function coverBadDebt(uint256) external onlyClearingHouse returns (uint256 spent) {
        _delegate();
    }

    /// @inheritdoc IAmmCurve
    function getCurveParams() external view returns (CurveParams memory) {
        _delegateView();
    }

    /// @inheritdoc IAmmCurve
    function getCurveState() external view returns (CurveState memory) {
        _delegateView();
    }

    /// @inheritdoc IAmmCurve
    function previewRepeg() external view returns (uint256, uint256, uint256, int256) {
        _delegateView();
    }

    /// @inheritdoc IAmmCurve
    function getBidAsk() external view returns (uint256 bid, uint256 ask) {
        _delegateView();
    }

    /// @inheritdoc IAmmCurve
    function previewSpreadFee(int256, uint256) external view returns (uint256 spreadFee) {
        _delegateView();
    }

    /// @inheritdoc IAmmCurve
    function previewSpreadFeeAfter(
        int256,
        uint256,
        uint256,
        uint256,
        int256,
        uint256
    ) external view returns (uint256 spreadFee) {
        _delegateView();
    }

    /// @dev Accrues funding to now on the open interest `oi` as it stood, first in a swap: the stretch
    /// before the trade is split with the insurance fund and the budget as they stood before it
    /// (`insuranceAvailable`, the caller's; the budget before the trade's repeg and spread), as
    /// {getFundingIndices} shows it. Books the budget's share; sets `oi.accruedAt`, which
    /// {_moveOpenInterest} stores. When a valuation before the swap accrued to now for its repeg
    /// ({_valuationRepeg} bit 2; `oi.accruedAt` is now), returns that accrual's snapshot with no
    /// budget flow (booked then), what an accrual over the empty stretch would return, and clears it.
    function _accrue(
        FundingPeriod.OpenInterest memory oi,
        uint256 insuranceAvailable
    ) private returns (FundingSnapshot memory funding) {
        uint256 timestamp = _blockTimestamp();
        // Only a swap over a stretch already accrued to now, on a curve that repegs, reads the word
        // (nested: one test on every other swap's path).
        if (oi.accruedAt == timestamp) {
            if (oi.curveFlags & FLAG_REPEG != 0) {
                if (_valuationRepeg & 4 != 0) {
                    (funding.longIndex, funding.shortIndex, funding.insuranceFlow) = (
                        _valuationLongIndex,
                        _valuationShortIndex,
                        _valuationFundFlow
                    );
                    (_valuationLongIndex, _valuationShortIndex, _valuationFundFlow) = (0, 0, 0);
                    return funding;
                }
            }
        }
        funding = _funding.accrue(oi, _backers(insuranceAvailable), timestamp);
        if (funding.budgetFlow != 0) _bookFundingFlow(funding.budgetFlow);
        oi.accruedAt = uint40(timestamp);
    }

    /// @dev Moves the long and short totals of `oi` from the trader's old size to the new one and
    /// stores them with the time funding was accrued to.
    function _moveOpenInterest(
        FundingPeriod.OpenInterest memory oi,
        int256 sizeBefore,
        int256 sizeAfter,
        uint256 cap
    ) private {
        uint256 longSize = oi.longSize - _longPart(sizeBefore) + _longPart(sizeAfter);
        uint256 shortSize = oi.shortSize - _shortPart(sizeBefore) + _shortPart(sizeAfter);
        // Only growth is capped: reducing exposure must always be possible.
        if (cap != 0) {
            if (longSize > oi.longSize && longSize > cap) revert OpenInterestCapExceeded(longSize, cap);
            if (shortSize > oi.shortSize && shortSize > cap) revert OpenInterestCapExceeded(shortSize, cap);
        }
        _openInterest = FundingPeriod.OpenInterest(
            longSize.toUint104(),
            shortSize.toUint104(),
            oi.accruedAt,
            oi.curveFlags
        );
    }

    function _longPart(int256 size) private pure returns (uint256) {
        return size > 0 ? uint256(size) : 0;
    }

    function _shortPart(int256 size) private pure returns (uint256) {
        return size < 0 ? uint256(-size) : 0;
    }

    // ---------------------------------------------------------------- admin (module)

    /// @inheritdoc IAmm
    function setLimits(Limits calldata) external {
        _delegate();
    }

    /// @inheritdoc IAmm
    function setIndexBand(uint256) external {
        _delegate();
    }

    /// @inheritdoc IAmm
    function setOracle(IPriceFeed, bytes32) external {
        _delegate();
    }

    /// @inheritdoc IAmm
    function setFundingParams(FundingParams calldata) external {
        _delegate();
    }

    /// @inheritdoc IAmm
    function setFundingSubsidyRatio(uint256) external {
        _delegate();
    }

    /// @inheritdoc IAmm
    function getIndexBand() external view returns (uint256) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getFundingSubsidyRatio() external view returns (uint256) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getLimits() external view returns (Limits memory) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getFundingState()
        external
        view
        returns (int256 premium, uint256 updatedAt, uint256 accruedAt, FundingParams memory params)
    {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getOracle() external view returns (IPriceFeed priceFeed, bytes32 asset) {
        _delegateView();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IAmm
    function previewSwapQuote(Side, uint256) external view returns (uint256 baseAmount) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function previewSwapBase(int256 traderSizeBefore, uint256 baseAmount) external view returns (uint256 quoteAmount) {
        Reserves memory r = _reserves;
        return CurveMath.quoteForBase(r.quote, r.base, traderSizeBefore, baseAmount);
    }

    /// @inheritdoc IAmm
    function repegAndGetReserves(
        uint256 insuranceAvailable
    ) external onlyClearingHouse returns (uint256 quoteReserve, uint256 baseReserve) {
        _repegBeforeValuation(insuranceAvailable);
        Reserves memory r = _reserves;
        return (r.quote, r.base);
    }

    /// @inheritdoc IAmm
    function getReserves() external view returns (uint256 quoteReserve, uint256 baseReserve) {
        Reserves memory r = _reserves;
        return (r.quote, r.base);
    }

    /// @inheritdoc IAmm
    function getSpotPrice() external view returns (uint256) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getMarkTwap(uint256) external view returns (uint256) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getValuationPrices(
        uint256
    ) external view returns (uint256 spotPrice, uint256 markTwap, uint256 indexPrice) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function maxCloseBase(bool) external view returns (uint256) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function holdCurveForClose(bool closingLong) external onlyClearingHouse returns (uint256 maxBase) {
        maxBase = _maxCloseBase(closingLong);
        if (maxBase != 0 && _openInterest.curveFlags & FLAG_REPEG != 0) _valuationRepeg = 1;
    }

    /// @inheritdoc IAmm
    function getOpenInterest() external view returns (uint256 longSize, uint256 shortSize) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getIndexTwap(uint256) external view returns (uint256) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function getFundingIndices(uint256 insuranceAvailable) external view returns (FundingSnapshot memory funding) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        (funding, , ) = _funding.indicesAt(oi, _funding.period, _backers(insuranceAvailable), _blockTimestamp());
    }

    /// @inheritdoc IAmm
    function getLiquidationInputs(uint256, bool, uint256) external view returns (LiquidationInputs memory) {
        _delegateView();
    }

    /// @inheritdoc IAmm
    function repegAndGetLiquidationInputs(
        uint256 twapInterval,
        bool closingLong,
        uint256 insuranceAvailable
    ) external onlyClearingHouse returns (LiquidationInputs memory) {
        _repegBeforeValuation(insuranceAvailable);
        return _liquidationInputs(twapInterval, closingLong, insuranceAvailable);
    }
}
