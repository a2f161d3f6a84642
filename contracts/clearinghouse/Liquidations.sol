// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "../interfaces/IAmm.sol";
import {IVault} from "../interfaces/IVault.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {Funding} from "../libraries/Funding.sol";
import {ClearingHouseBase} from "./ClearingHouseBase.sol";

/// @title Liquidations
/// @notice The ClearingHouse's liquidation: when a position may be liquidated, how much of it is
/// closed, the penalty, bad debt and the shortfall that makes a market reduce-only. See
/// {IClearingHouse-liquidate}.
abstract contract Liquidations is ClearingHouseBase {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev The defaults: 1.25% penalty, 2.5% partial buffer, 10% spread, 15-minute TWAP, 10 quote.
    constructor() {
        _setLiquidationParams(LiquidationParams(0.0125e18, 0.025e18, 0.1e18, 15 minutes, 10e18));
    }

    /// @inheritdoc IClearingHouse
    function liquidate(address amm, address trader) external nonReentrant whenNotPaused {
        _liquidate(amm, trader, 0);
    }

    /// @inheritdoc IClearingHouse
    function liquidateWithLimit(
        address amm,
        address trader,
        uint256 quoteLimit,
        uint256 deadline
    ) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        _liquidate(amm, trader, quoteLimit);
    }

    /// @dev What one liquidation moves, gathered to keep the stack small.
    struct Liquidation {
        uint256 closeBase;
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 covered;
        uint256 shortfall;
        uint256 traderPayout;
        bool full;
    }

    function _liquidate(address amm, address trader, uint256 quoteLimit) private {
        if (trader == msg.sender) revert SelfLiquidation();
        _checkSequencer();
        Market memory market = _tradableMarket(amm);
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) revert NoPosition(trader, amm);
        LiquidationParams memory params = _liquidationParams;
        uint256 fundBefore = _insuranceAvailable();

        Liquidation memory liq;
        liq.closeBase = _liquidationCloseBase(amm, p, market.maintenanceMarginRatio, params, fundBefore);
        liq.full = liq.closeBase == SignedMath.abs(p.size);

        Trade memory t;
        int256 equity = _closePart(amm, p, liq.closeBase, fundBefore, t);
        if (quoteLimit != 0 && (t.baseDelta < 0 ? t.quoteAmount < quoteLimit : t.quoteAmount > quoteLimit)) {
            revert QuoteLimitMissed(t.quoteAmount, quoteLimit);
        }
        // The partial size ignores price impact: in a thin pool the close can realise so much loss
        // that the rest would be left near or under water, and then the rest is closed too.
        if (!liq.full && !_restHealthy(amm, p, equity, t.quoteAmount.wMulUp(params.feeRatio), params.feeRatio)) {
            equity += _closeRest(amm, p, liq, t, fundBefore);
        }
        _splitLiquidation(liq, equity, t.quoteAmount.wMulUp(params.feeRatio), fundBefore, t.insuranceFlow);
        _applyLiquidation(amm, trader, p, liq, t);
    }

    /// @dev Reverts unless the position is liquidatable; otherwise how much of it to close: the
    /// partial size, or all of it (see {_liquidationSize} and {_remainderHealthy}), at most what the
    /// pool takes within its fluctuation limit in this block.
    function _liquidationCloseBase(
        address amm,
        StoredPosition memory p,
        uint256 maintenanceMarginRatio,
        LiquidationParams memory params,
        uint256 fundBefore
    ) private view returns (uint256 closeBase) {
        (int256 ratio, uint256 spot) = _liquidationValuation(amm, p, params, fundBefore);
        if (ratio >= int256(maintenanceMarginRatio)) revert NotLiquidatable(ratio, maintenanceMarginRatio);
        uint256 absSize = SignedMath.abs(p.size);
        closeBase = _liquidationSize(absSize, ratio, spot, maintenanceMarginRatio, params);
        closeBase = Math.min(closeBase, IAmm(amm).maxCloseBase(p.size > 0));
        if (closeBase == 0) revert LiquidationLimitReached(amm);
    }

    /// @dev The position's liquidation margin ratio (its pending funding settled) and the spot price.
    function _liquidationValuation(
        address amm,
        StoredPosition memory p,
        LiquidationParams memory params,
        uint256 fundBefore
    ) private view returns (int256 ratio, uint256 spot) {
        IAmm.FundingSnapshot memory pending = IAmm(amm).getFundingIndices(fundBefore);
        int256 marginAfterFunding =
            int256(uint256(p.margin)) - Funding.owed(p.size, _positionIndex(p.size, pending) - p.fundingCheckpoint);
        uint256 markTwap;
        uint256 index;
        (spot, markTwap, index) = IAmm(amm).getValuationPrices(params.markTwapInterval);
        ratio = _liquidationRatio(p, marginAfterFunding, spot, markTwap, index, params.maxSpreadRatio);
    }

    /// @dev Stores what is left of the position (or deletes it), records any shortfall, moves the
    /// money (the fund's flows and the liquidator's reward, then the trader's payout) and emits.
    function _applyLiquidation(
        address amm,
        address trader,
        StoredPosition memory p,
        Liquidation memory liq,
        Trade memory t
    ) private {
        if (liq.full) {
            delete _positions[amm][trader];
            p.margin = 0;
            p.openNotional = 0;
            p.fundingCheckpoint = 0;
            t.freeCollateralDelta = liq.traderPayout.toInt256();
        } else {
            p.margin = liq.traderPayout.toUint128();
            _positions[amm][trader] = p;
        }
        if (liq.shortfall != 0) _recordShortfall(amm, liq.shortfall);

        IVault vault_ = _config.vault;
        // With bad debt the fund pays the liquidator's reward too.
        uint256 fundPays = liq.covered + (liq.badDebt != 0 ? liq.reward : 0);
        int256 fundDelta = t.insuranceFlow + liq.insurancePenalty.toInt256() - fundPays.toInt256();
        vault_.settle(msg.sender, liq.reward.toInt256(), fundDelta);
        if (t.freeCollateralDelta != 0) vault_.settle(trader, t.freeCollateralDelta, 0);
        _emitPositionChanged(trader, amm, t, p);
        emit PositionLiquidated(
            trader,
            amm,
            msg.sender,
            liq.closeBase,
            t.quoteAmount,
            liq.reward,
            liq.insurancePenalty,
            liq.badDebt,
            liq.shortfall,
            liq.full
        );
    }

    /// @dev Swaps `closeBase` of the position back into the pool, settles its funding and realises
    /// the closed part's PnL into `t` (see {_realize}); leaves the rest of the position in `p` and returns its margin after all that (the
    /// trader's equity in what was closed plus the margin of what remains; negative: bad debt).
    function _closePart(
        address amm,
        StoredPosition memory p,
        uint256 closeBase,
        uint256 fundBefore,
        Trade memory t
    ) private returns (int256 equity) {
        IAmm.FundingSnapshot memory funding;
        (t.quoteAmount, funding) = IAmm(amm).swapBase(p.size, closeBase, fundBefore);
        int256 marginAfterFunding = _settleFunding(p, p.size > 0 ? Side.LONG : Side.SHORT, funding, t);
        _realize(p, closeBase, t);
        equity = marginAfterFunding + t.realizedPnl;
    }

    /// @dev Splits what the position has left after the close (`equity`) between the penalty, the
    /// trader and, when it is negative, the insurance fund. The penalty is bounded by the equity, so
    /// a liquidation never makes bad debt; with bad debt the fund covers the loss first, then the
    /// liquidator's half, as far as it can.
    function _splitLiquidation(
        Liquidation memory liq,
        int256 equity,
        uint256 penalty,
        uint256 fundBefore,
        int256 fundingFlow
    ) private pure {
        uint256 liquidatorHalf = penalty / 2;
        if (equity >= 0) {
            uint256 left = uint256(equity);
            if (left >= penalty) {
                liq.reward = liquidatorHalf;
                liq.insurancePenalty = penalty - liquidatorHalf;
                liq.traderPayout = left - penalty;
            } else {
                liq.reward = Math.min(liquidatorHalf, left);
                liq.insurancePenalty = left - liq.reward;
            }
        } else {
            liq.badDebt = uint256(-equity);
            // The fund as it stands after this trade's funding flow.
            uint256 fund = uint256(int256(fundBefore) + fundingFlow);
            liq.covered = Math.min(liq.badDebt, fund);
            liq.shortfall = liq.badDebt - liq.covered;
            liq.reward = Math.min(liquidatorHalf, fund - liq.covered);
        }
    }

    /// @dev The margin ratio a liquidation is judged by: the best for the trader of the spot price
    /// and the mark TWAP, and of the index when the spot is more than `maxSpreadRatio` from it.
    function _liquidationRatio(
        StoredPosition memory p,
        int256 marginAfterFunding,
        uint256 spot,
        uint256 markTwap,
        uint256 index,
        uint256 maxSpreadRatio
    ) private pure returns (int256 ratio) {
        ratio = _ratioAt(p, marginAfterFunding, spot);
        int256 atTwap = _ratioAt(p, marginAfterFunding, markTwap);
        if (atTwap > ratio) ratio = atTwap;
        if (index != 0) {
            uint256 spread = spot > index ? spot - index : index - spot;
            if (spread > index.wMulDown(maxSpreadRatio)) {
                int256 atIndex = _ratioAt(p, marginAfterFunding, index);
                if (atIndex > ratio) ratio = atIndex;
            }
        }
    }

    /// @dev (margin after funding + PnL) / notional with the position valued at `price`.
    function _ratioAt(StoredPosition memory p, int256 marginAfterFunding, uint256 price) private pure returns (int256) {
        uint256 notional = _notionalAt(p.size, price);
        return _ratio(marginAfterFunding + _pnl(p.size, p.openNotional, notional), notional);
    }

    /// @dev How much base a liquidation closes. Closing a fraction f at penalty ratio c takes the
    /// ratio r to (r - f c) / (1 - f), ignoring price impact; solving for the target ratio
    /// t = maintenance + buffer gives f = (t - r) / (t - c), rounded up. The whole position when r
    /// is below c, or when what would remain is worth less than `minPositionNotional` at spot.
    function _liquidationSize(
        uint256 absSize,
        int256 ratio,
        uint256 spot,
        uint256 maintenanceMarginRatio,
        LiquidationParams memory params
    ) private pure returns (uint256 closeBase) {
        if (ratio < int256(uint256(params.feeRatio))) return absSize;
        // Here feeRatio <= ratio < maintenance < target, so the fraction is in (0, 1).
        uint256 target = maintenanceMarginRatio + params.partialBuffer;
        closeBase = absSize.mulDivUp(target - uint256(ratio), target - params.feeRatio);
        if (closeBase >= absSize || (absSize - closeBase).wMulDown(spot) < params.minPositionNotional) {
            return absSize;
        }
    }

    /// @dev Whether the rest of a partly closed position (`p`), holding `equity` less the penalty
    /// and valued at the spot price the close left behind, keeps at least the penalty ratio.
    function _restHealthy(
        address amm,
        StoredPosition memory p,
        int256 equity,
        uint256 penalty,
        uint256 feeRatio
    ) private view returns (bool) {
        uint256 notional = _markNotional(amm, p.size);
        int256 restEquity = equity - penalty.toInt256() + _pnl(p.size, p.openNotional, notional);
        return restEquity >= notional.wMulUp(feeRatio).toInt256();
    }

    /// @dev Closes the rest of a partly liquidated position as far as the pool's limit allows in
    /// this block, adding the trade to `t` and `liq`; returns the PnL it realised.
    function _closeRest(
        address amm,
        StoredPosition memory p,
        Liquidation memory liq,
        Trade memory t,
        uint256 fundBefore
    ) private returns (int256 realizedPnl) {
        uint256 more = Math.min(SignedMath.abs(p.size), IAmm(amm).maxCloseBase(p.size > 0));
        if (more == 0) return 0;
        Trade memory rest;
        // The first close accrued funding to now: this one settles none.
        _closePart(amm, p, more, fundBefore, rest);
        t.quoteAmount += rest.quoteAmount;
        t.baseDelta += rest.baseDelta;
        t.realizedPnl += rest.realizedPnl;
        liq.closeBase += more;
        liq.full = p.size == 0;
        return rest.realizedPnl;
    }

    /// @dev Adds an uncovered bad debt to the market's shortfall and makes the market reduce-only.
    function _recordShortfall(address amm, uint256 shortfall) private {
        uint256 total = _shortfalls[amm] + shortfall;
        _shortfalls[amm] = total;
        if (_markets[amm].status == MarketStatus.ACTIVE) _markets[amm].status = MarketStatus.REDUCE_ONLY;
        emit ShortfallRecorded(amm, shortfall, total);
    }

    /// @inheritdoc IClearingHouse
    function setLiquidationParams(LiquidationParams calldata params) external onlyOwner {
        _setLiquidationParams(params);
    }

    function _setLiquidationParams(LiquidationParams memory params) private {
        if (
            params.feeRatio > 0.1e18 ||
            params.partialBuffer > 0.2e18 ||
            params.maxSpreadRatio < 0.01e18 ||
            params.maxSpreadRatio > 0.5e18 ||
            params.markTwapInterval < 1 minutes ||
            params.markTwapInterval > 1 hours
        ) revert InvalidLiquidationParams();
        _liquidationParams = params;
        emit LiquidationParamsUpdated(params);
    }

    /// @inheritdoc IClearingHouse
    function getLiquidationMarginRatio(address amm, address trader) external view returns (int256 ratio) {
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) revert NoPosition(trader, amm);
        (ratio, ) = _liquidationValuation(amm, p, _liquidationParams, _insuranceAvailable());
    }

    /// @inheritdoc IClearingHouse
    function getLiquidationParams() external view returns (LiquidationParams memory) {
        return _liquidationParams;
    }

    /// @inheritdoc IClearingHouse
    function getMarketStatus(address amm) external view returns (MarketStatus status, uint256 shortfall) {
        return (_markets[amm].status, _shortfalls[amm]);
    }
}
