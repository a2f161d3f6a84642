// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAmm, IAmmErrors, Side} from "../interfaces/IAmm.sol";
import {IAmmCurve} from "../interfaces/IAmmCurve.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {CurveAdjustment} from "../libraries/CurveAdjustment.sol";
import {CurveMath} from "../libraries/CurveMath.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {FundingPeriod} from "../libraries/FundingPeriod.sol";
import {PriceHistory} from "../libraries/PriceHistory.sol";
import {AmmModule} from "./AmmModule.sol";

/// @title AmmViewModule
/// @notice The market's views that no transaction of the protocol reads (the keepers', the
/// viewer's, the app's and the ClearingHouse's previews read them): the prices and TWAPs, the
/// liquidation inputs, the limits, funding and oracle settings, and the dynamic curve's parameters,
/// state, bid / ask and previews. Created by the {AmmCurveModule} (its `viewModule`); each {Amm}
/// runs it by DELEGATECALL on its own storage, so neither the Amm nor the curve module carries the
/// views' code and both keep room under the 24,576-byte limit. A view's rules are the ones the
/// trades run ({AmmStorage}'s shared functions), never a copy.
contract AmmViewModule is AmmModule {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using FundingPeriod for FundingPeriod.State;
    using PriceHistory for PriceHistory.History;

    // ---------------------------------------------------------------- prices

    /// @notice See {IAmm-getSpotPrice}.
    function getSpotPrice() external view onlyDelegated returns (uint256) {
        Reserves memory r = _reserves;
        return _spotPrice(r);
    }

    /// @notice See {IAmm-getMarkTwap}.
    function getMarkTwap(uint256 interval) external view onlyDelegated returns (uint256) {
        Reserves memory r = _reserves;
        return _markHistory.twap(_blockTimestamp(), _spotPrice(r), interval);
    }

    /// @notice See {IAmm-getIndexTwap}.
    function getIndexTwap(uint256 interval) external view onlyDelegated returns (uint256) {
        if (!_indexHistory.isStarted()) revert IAmmErrors.NoIndexPrice();
        return _indexHistory.twap(_blockTimestamp(), _indexHistory.head.price, interval);
    }

    /// @notice See {IAmm-getValuationPrices}.
    function getValuationPrices(
        uint256 twapInterval
    ) external view onlyDelegated returns (uint256 spotPrice, uint256 markTwap, uint256 indexPrice) {
        return _valuationPrices(_reserves, twapInterval);
    }

    /// @notice See {IAmm-maxCloseBase}.
    function maxCloseBase(bool closingLong) external view onlyDelegated returns (uint256) {
        return _maxCloseBase(closingLong);
    }

    /// @notice See {IAmm-getLiquidationInputs}: the inputs a liquidation now would be judged and
    /// sized on. A liquidation repegs first when the spot is beyond the threshold
    /// ({IAmm-repegAndGetLiquidationInputs}), so these are on the curve that repeg would leave (the
    /// one {previewRepeg} shows): its spot, its reserves and, the repeg having set the block's
    /// reference price, the close it allows. The mark TWAP does not move (the repeg's price has
    /// held for no time yet), nor do the funding indices (accrued before the repeg) or the index.
    function getLiquidationInputs(
        uint256 twapInterval,
        bool closingLong,
        uint256 insuranceAvailable
    ) external view onlyDelegated returns (IAmm.LiquidationInputs memory inputs) {
        inputs = _liquidationInputs(twapInterval, closingLong, insuranceAvailable);
        (uint256 quoteReserve, , , ) = _previewRepeg();
        if (quoteReserve == inputs.quoteReserve) return inputs;
        // quoteReserve fits 128 bits ({_repegMove}).
        Reserves memory r = Reserves(uint128(quoteReserve), uint128(inputs.baseReserve));
        inputs.spotPrice = _spotPrice(r);
        inputs.quoteReserve = quoteReserve;
        uint256 limitRatio = _limits.fluctuationLimitRatio;
        if (limitRatio != 0) {
            inputs.maxCloseBase = _maxCloseBaseAt(limitRatio, r, inputs.spotPrice, inputs.spotPrice, closingLong);
        }
    }

    // ---------------------------------------------------------------- settings

    /// @notice See {IAmm-getIndexBand}.
    function getIndexBand() external view onlyDelegated returns (uint256) {
        return _ratio(_limits.indexBandSteps);
    }

    /// @notice See {IAmm-getFundingSubsidyRatio}.
    function getFundingSubsidyRatio() external view onlyDelegated returns (uint256) {
        return _funding.params.maxSubsidyRatio;
    }

    /// @notice See {IAmm-getLimits}.
    function getLimits() external view onlyDelegated returns (IAmm.Limits memory) {
        RiskLimits memory limits = _limits;
        return IAmm.Limits(limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest);
    }

    /// @notice See {IAmm-getFundingState}.
    function getFundingState()
        external
        view
        onlyDelegated
        returns (int256 premium, uint256 updatedAt, uint256 accruedAt, IAmm.FundingParams memory params)
    {
        FundingPeriod.Period memory period = _funding.period;
        return (period.premium, period.updatedAt, _openInterest.accruedAt, _funding.fundingParams());
    }

    /// @notice See {IAmm-getOracle}.
    function getOracle() external view onlyDelegated returns (IPriceFeed priceFeed, bytes32 asset) {
        return (_priceFeed, _asset);
    }

    // ---------------------------------------------------------------- views

    /// @notice See {IAmm-previewSwapQuote}.
    function previewSwapQuote(Side side, uint256 quoteAmount) external view onlyDelegated returns (uint256) {
        Reserves memory r = _reserves;
        (, uint256 newBase) = CurveMath.afterQuoteSwap(r.quote, r.base, side, quoteAmount);
        return side == Side.LONG ? r.base - newBase : newBase - r.base;
    }

    /// @notice See {IAmm-getOpenInterest}.
    function getOpenInterest() external view onlyDelegated returns (uint256 longSize, uint256 shortSize) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        return (oi.longSize, oi.shortSize);
    }

    /// @notice See {IAmmCurve-getCurveParams}.
    function getCurveParams() external view onlyDelegated returns (IAmmCurve.CurveParams memory) {
        Budget memory b = _budget;
        VammLeverage memory leverage = _vammLeverage;
        DepthConfig memory d = _depthConfig;
        return
            IAmmCurve.CurveParams(
                _ratio(b.repegThresholdSteps),
                _ratio(b.baseSpreadSteps),
                _ratio(b.maxSpreadSteps),
                leverage.maxLeverage,
                leverage.fundShareRatio,
                _repegBook.floor,
                b.target,
                d.maxDepthChangeRatio,
                d.minDepthRatio,
                d.maxDepthRatio
            );
    }

    /// @notice See {IAmmCurve-getCurveState}.
    function getCurveState() external view onlyDelegated returns (IAmmCurve.CurveState memory state) {
        Reserves memory r = _reserves;
        state.peg = _repegBook.peg;
        state.depth = _depthConfig.depth;
        state.budget = _budget.amount;
        state.netPosition = _netPosition(_openInterest);
        int256 net = state.netPosition;
        if (net != 0 && (net > 0 || uint256(-net) < r.base)) {
            // V(q, b) = q x net / (b + net), rounded toward zero.
            uint256 magnitude = Math.mulDiv(
                r.quote,
                net > 0 ? uint256(net) : uint256(-net),
                CurveAdjustment.terminalBase(r.base, net)
            );
            state.terminalValue = net > 0 ? int256(magnitude) : -int256(magnitude);
        }
        state.budgetAtLastUpdate = _budgetBook.atLastUpdate;
    }

    /// @notice See {IAmmCurve-getBidAsk}.
    function getBidAsk() external view onlyDelegated returns (uint256 bid, uint256 ask) {
        Reserves memory r = _reserves;
        uint256 spot = _spotPrice(r);
        if (_openInterest.curveFlags & FLAG_SPREAD == 0) return (spot, spot);
        Budget memory budget = _budgetAtSwap();
        int256 net = _netPosition(_openInterest);
        uint256 index = _freshIndex();
        uint256 bidRatio = _spreadRatio(budget, net, net - 1, spot, r.base, index);
        uint256 askRatio = _spreadRatio(budget, net, net + 1, spot, r.base, index);
        return (spot.wMulDown(FixedPoint.WAD - bidRatio), spot.wMulUp(FixedPoint.WAD + askRatio));
    }

    /// @notice See {IAmmCurve-previewSpreadFee}.
    function previewSpreadFee(int256 baseDelta, uint256 notional) external view onlyDelegated returns (uint256 fee) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        if (oi.curveFlags & FLAG_SPREAD == 0) return 0;
        (fee, ) = _spreadFee(_reserves, oi, baseDelta, notional);
    }

    /// @notice See {IAmmCurve-previewSpreadFeeAfter}.
    function previewSpreadFeeAfter(
        int256 firstBaseDelta,
        uint256 budgetFound,
        uint256 quoteReserve,
        uint256 baseReserve,
        int256 baseDelta,
        uint256 notional
    ) external view onlyDelegated returns (uint256) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        if (oi.curveFlags & FLAG_SPREAD == 0) return 0;
        Budget memory budget = _budget;
        budget.amount = budgetFound.toUint96();
        int256 netBefore = _netPosition(oi) + firstBaseDelta;
        uint256 ratio = _spreadRatio(
            budget,
            netBefore,
            netBefore + baseDelta,
            quoteReserve.wDivDown(baseReserve),
            baseReserve,
            _freshIndex()
        );
        return notional.wMulUp(ratio);
    }

    /// @notice See {IAmmCurve-previewRepeg}.
    function previewRepeg()
        external
        view
        onlyDelegated
        returns (uint256 quoteReserve, uint256 baseReserve, uint256 budget, int256 cost)
    {
        return _previewRepeg();
    }

    /// @dev The repeg a trade or liquidation now would run first, as {_repegBeforeValuation} and the
    /// module's repeg run it: the funding accrual's budget share booked, then the move.
    function _previewRepeg()
        private
        view
        returns (uint256 quoteReserve, uint256 baseReserve, uint256 budget, int256 cost)
    {
        Reserves memory r = _reserves;
        // The swap accrues funding first: the repeg finds the budget with its share booked.
        Budget memory b = _budgetAtSwap();
        (quoteReserve, baseReserve, budget) = (r.quote, r.base, b.amount);
        uint256 index = _freshIndex();
        if (_openInterest.curveFlags & FLAG_REPEG == 0 || !_repegDue(r, index, _ratio(b.repegThresholdSteps)))
            return (quoteReserve, baseReserve, budget, 0);
        (quoteReserve, cost) = _repegMove(r, index, _above(b.amount, _repegBook.floor));
        if (quoteReserve == r.quote) return (quoteReserve, baseReserve, budget, 0);
        if (cost > 0) budget -= uint256(cost);
    }
}
