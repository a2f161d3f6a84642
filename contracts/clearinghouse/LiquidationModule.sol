// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "../interfaces/IAmm.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {LiquidationMath} from "../libraries/LiquidationMath.sol";
import {PositionMath, StoredPosition, Trade} from "../libraries/PositionMath.sol";
import {ClearingHouseModule} from "./ClearingHouseModule.sol";
import {LiquidationStorage} from "./LiquidationStorage.sol";

/// @dev The kind LiquidationModule answers in {ClearingHouseModule-moduleInfo}.
bytes32 constant LIQUIDATION_MODULE_KIND = keccak256("vamm.ClearingHouse.LiquidationModule");

/// @title LiquidationModule
/// @notice The ClearingHouse's liquidation: when a position may be liquidated, how much of it is
/// closed, the penalty, bad debt and the shortfall that makes a market reduce-only. See
/// {IClearingHouse-liquidate}; the rules themselves are {LiquidationMath}'s.
contract LiquidationModule is ClearingHouseModule {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @param sequencerFeed_ The ClearingHouse's sequencer uptime feed (see {ClearingHouseModule}).
    constructor(AggregatorV3Interface sequencerFeed_) ClearingHouseModule(sequencerFeed_) {}

    // ---------------------------------------------------------------- views (the ClearingHouse's)

    /// @notice See {IClearingHouse-getUnrealizedPnl}.
    function getUnrealizedPnl(address amm, address trader) external view onlyDelegated returns (int256) {
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) return 0;
        return PositionMath.pnl(p.size, p.openNotional, _markNotional(amm, p.size));
    }

    /// @notice See {IClearingHouse-getMarginRatio}.
    function getMarginRatio(address amm, address trader) external view onlyDelegated returns (int256) {
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) return 0;
        uint256 notional = _markNotional(amm, p.size);
        int256 equity =
            int256(uint256(p.margin)) - _pendingFunding(amm, p) + PositionMath.pnl(p.size, p.openNotional, notional);
        return PositionMath.ratio(equity, notional);
    }

    /// @notice See {IClearingHouse-getLiquidationMarginRatio}.
    function getLiquidationMarginRatio(address amm, address trader) external view onlyDelegated returns (int256 ratio) {
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) return 0;
        IClearingHouse.LiquidationParams memory params = LiquidationStorage.params();
        ratio = _liquidationRatio(
            p,
            params,
            IAmm(amm).getLiquidationInputs(params.markTwapInterval, p.size > 0, _insuranceAvailable())
        );
    }

    /// @notice See {IClearingHouse-getLiquidationParams}.
    function getLiquidationParams() external view onlyDelegated returns (IClearingHouse.LiquidationParams memory) {
        return LiquidationStorage.params();
    }

    function _moduleKind() internal pure override returns (bytes32) {
        return LIQUIDATION_MODULE_KIND;
    }

    /// @notice See {IClearingHouse-liquidate}.
    function liquidate(
        address amm,
        address trader
    ) external onlyDelegated nonReentrant whenNotPaused returns (IClearingHouse.LiquidationResult memory) {
        return _liquidate(amm, trader, 0);
    }

    /// @notice See {IClearingHouse-liquidateWithLimit}.
    function liquidateWithLimit(
        address amm,
        address trader,
        uint256 quoteLimit,
        uint256 deadline
    ) external onlyDelegated nonReentrant whenNotPaused returns (IClearingHouse.LiquidationResult memory) {
        _checkDeadline(deadline);
        return _liquidate(amm, trader, quoteLimit);
    }

    /// @notice See {IClearingHouse-setLiquidationParams}.
    function setLiquidationParams(IClearingHouse.LiquidationParams calldata params) external onlyDelegated onlyOwner {
        LiquidationStorage.set(params);
    }

    /// @dev What one liquidation moves, gathered to keep the stack small.
    struct Liquidation {
        uint256 closeBase;
        bool full;
        bool long;
        uint256 fairPrice;
        LiquidationMath.Split split;
    }

    function _liquidate(
        address amm,
        address trader,
        uint256 quoteLimit
    ) private returns (IClearingHouse.LiquidationResult memory) {
        if (trader == msg.sender) revert IClearingHouse.SelfLiquidation();
        _checkSequencer();
        Market memory market = _tradableMarket(amm);
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) revert IClearingHouse.NoPosition(trader, amm);
        IClearingHouse.LiquidationParams memory params = LiquidationStorage.params();
        uint256 fundBefore = _insuranceAvailable();

        Liquidation memory liq;
        liq.long = p.size > 0;
        // The reserves the close will trade on (after any repeg).
        (uint256 quoteReserve, uint256 baseReserve) = _closeBase(amm, p, market, params, fundBefore, liq);
        liq.full = liq.closeBase == SignedMath.abs(p.size);

        Trade memory t;
        int256 equity = _closePart(amm, p, liq.closeBase, fundBefore, t);
        _checkQuoteLimit(t.baseDelta < 0, t.quoteAmount, quoteLimit);
        uint256 penalty = t.quoteAmount.wMulUp(params.feeRatio);
        // The partial size ignores price impact: in a thin pool the close can realise so much loss
        // that the rest would be left near or under water, and then the rest is closed too.
        if (!liq.full) {
            // The close traded `closeBase` on the reserves it was sized on, for `t.quoteAmount`
            // exactly: a long's close put the base in and took the quote out, a short's the reverse.
            (quoteReserve, baseReserve) = liq.long
                ? (quoteReserve - t.quoteAmount, baseReserve + liq.closeBase)
                : (quoteReserve + t.quoteAmount, baseReserve - liq.closeBase);
            if (!LiquidationMath.restHealthy(p, equity, penalty, params.feeRatio, quoteReserve, baseReserve)) {
                equity += _closeRest(amm, p, liq, t, fundBefore);
                penalty = t.quoteAmount.wMulUp(params.feeRatio);
            }
        }
        // The fund as it stands after this trade's funding flow.
        _split(amm, liq, equity, penalty, t.quoteAmount, uint256(int256(fundBefore) + t.insuranceFlow));
        _applyLiquidation(amm, trader, p, liq, t);
        return
            IClearingHouse.LiquidationResult(
                liq.closeBase,
                t.quoteAmount,
                liq.split.reward,
                liq.split.badDebt,
                liq.full
            );
    }

    /// @dev Splits what the position has left ({LiquidationMath-split}) into `liq.split`. With bad
    /// debt the fair price shows too, the market's own AMM budget above its floor pays it and then
    /// the liquidator's half first ({IAmmCurve-coverBadDebt}; a static market's budget is 0), the
    /// insurance fund (`fund`) the rest; an ordinary liquidation (no bad debt) neither values the
    /// fair price nor calls the Amm.
    function _split(
        address amm,
        Liquidation memory liq,
        int256 equity,
        uint256 penalty,
        uint256 quote,
        uint256 fund
    ) private {
        // The fair price matters only with bad debt: an ordinary liquidation skips it and the Amm.
        int256 fairEquity;
        uint256 fromBudget;
        if (equity < 0) {
            fairEquity = _equityAtFairPrice(liq, equity, quote);
            uint256 fairBadDebt = LiquidationMath.fairBadDebt(equity, fairEquity);
            if (fairBadDebt != 0) fromBudget = IAmm(amm).coverBadDebt(fairBadDebt + penalty / 2);
        }
        liq.split = LiquidationMath.split(equity, fairEquity, penalty, fund, fromBudget);
    }

    /// @dev The equity the position would have had with everything closed at the fair price
    /// ({LiquidationMath-fairPrice}), valued as {PositionMath-notionalAt} rounds (against the trader).
    function _equityAtFairPrice(Liquidation memory liq, int256 equity, uint256 quote) private pure returns (int256) {
        int256 closed = liq.long ? liq.closeBase.toInt256() : -liq.closeBase.toInt256();
        uint256 fairQuote = PositionMath.notionalAt(closed, liq.fairPrice);
        return LiquidationMath.fairEquity(liq.long, equity, quote, fairQuote);
    }

    /// @dev Reverts unless the position is liquidatable; otherwise sets how much of it to close (see
    /// {LiquidationMath-closeBase}) and the fair price its bad debt is judged at. All of it on the
    /// curve the close will trade on: any repeg runs first ({IAmm-repegAndGetLiquidationInputs}), so
    /// a close sized within the block's fluctuation limit stays within it. Returns that curve's
    /// reserves (the swap runs no repeg of its own after this valuation).
    function _closeBase(
        address amm,
        StoredPosition memory p,
        Market memory market,
        IClearingHouse.LiquidationParams memory params,
        uint256 fundBefore,
        Liquidation memory liq
    ) private returns (uint256 quoteReserve, uint256 baseReserve) {
        uint256 maintenanceMarginRatio = market.maintenanceMarginRatio;
        IAmm.LiquidationInputs memory inputs = IAmm(amm).repegAndGetLiquidationInputs(
            params.markTwapInterval,
            p.size > 0,
            fundBefore
        );
        int256 ratio = _liquidationRatio(p, params, inputs);
        if (!LiquidationMath.isLiquidatable(ratio, maintenanceMarginRatio)) {
            revert IClearingHouse.NotLiquidatable(ratio, maintenanceMarginRatio);
        }
        liq.closeBase = LiquidationMath.closeBase(
            SignedMath.abs(p.size),
            ratio,
            inputs.spotPrice,
            maintenanceMarginRatio,
            params,
            inputs.maxCloseBase
        );
        if (liq.closeBase == 0) revert IClearingHouse.LiquidationLimitReached(amm);
        liq.fairPrice = LiquidationMath.fairPrice(liq.long, inputs.spotPrice, inputs.markTwap, inputs.indexPrice);
        return (inputs.quoteReserve, inputs.baseReserve);
    }

    /// @dev Swaps `closeBase` of the position back into the pool, settles its funding and realises
    /// the closed part's PnL into `t`; leaves the rest of the position in `p` and returns the
    /// trader's equity in what was closed plus the margin of what remains (negative: bad debt).
    function _closePart(
        address amm,
        StoredPosition memory p,
        uint256 closeBase,
        uint256 fundBefore,
        Trade memory t
    ) private returns (int256 equity) {
        IAmm.FundingSnapshot memory funding;
        uint256 spread;
        uint256 curveCost;
        (t.quoteAmount, funding, spread, curveCost) = IAmm(amm).swapBase(p.size, closeBase, fundBefore);
        int256 marginAfterFunding = PositionMath.settleFunding(p, p.size > 0 ? Side.LONG : Side.SHORT, funding, t);
        PositionMath.realize(p, closeBase, t);
        // The close's spread is paid out of the position's equity, like the trader's own close.
        t.spread = spread;
        t.fee = spread;
        t.curveCost = curveCost;
        equity = marginAfterFunding + t.realizedPnl - spread.toInt256();
    }

    /// @dev Closes the rest of a partly liquidated position as far as the pool's limit allows in
    /// this block, adding the trade to `t` and `liq`; returns the PnL it realised less its spread.
    function _closeRest(
        address amm,
        StoredPosition memory p,
        Liquidation memory liq,
        Trade memory t,
        uint256 fundBefore
    ) private returns (int256 realizedPnl) {
        // Sized on the curve it trades on: its swap runs no repeg check ({IAmm-holdCurveForClose}).
        uint256 more = IAmm(amm).holdCurveForClose(p.size > 0);
        uint256 absSize = SignedMath.abs(p.size);
        if (more > absSize) more = absSize;
        if (more == 0) return 0;
        Trade memory rest;
        // The first close accrued funding to now: this one settles none.
        _closePart(amm, p, more, fundBefore, rest);
        t.quoteAmount += rest.quoteAmount;
        t.baseDelta += rest.baseDelta;
        t.realizedPnl += rest.realizedPnl;
        t.spread += rest.spread;
        t.fee += rest.fee;
        t.curveCost += rest.curveCost;
        liq.closeBase += more;
        liq.full = p.size == 0;
        return rest.realizedPnl - rest.spread.toInt256();
    }

    /// @dev Stores what is left of the position (or deletes it), records any shortfall, moves the
    /// money (the budget's part of the bad debt released from the locked margin, the fund's flows
    /// and the liquidator's reward, then the trader's payout) and emits.
    function _applyLiquidation(
        address amm,
        address trader,
        StoredPosition memory p,
        Liquidation memory liq,
        Trade memory t
    ) private {
        LiquidationMath.Split memory s = liq.split;
        uint256 marginBefore = p.margin;
        if (liq.full) {
            delete _positions[amm][trader];
            p.margin = 0;
            p.openNotional = 0;
            p.fundingCheckpoint = 0;
            t.freeCollateralDelta = s.traderPayout.toInt256();
        } else {
            p.margin = s.traderPayout.toUint128();
        }
        uint256 rewardClaim = _deferGain(amm, p, t, s);
        if (!liq.full) _positions[amm][trader] = p;
        int256 lockedMarginDelta = PositionMath.lockedMarginDelta(p, marginBefore, t);
        if (t.spread != 0 || t.curveCost != 0) lockedMarginDelta += PositionMath.curveLockedDelta(t);
        // The budget's money sits in the pool as locked margin: released, it fills the hole.
        if (s.fromBudget != 0) lockedMarginDelta -= s.fromBudget.toInt256();
        if (s.shortfall != 0) _recordShortfall(amm, s.shortfall);
        if (s.chargedToMarket != 0) emit IClearingHouse.BadDebtChargedToMarket(amm, trader, s.chargedToMarket);
        _moveLiquidationMoney(amm, trader, s, t, lockedMarginDelta, rewardClaim);
        // As for a trade ({ClearingHouse-_store}): a profit the pool could not pay paid a debt the
        // receivers' margins hold (here the penalty beyond the margin), so the fund bridges it.
        if (t.unbacked != 0) _config.vault.advanceToPool(amm, t.unbacked);
        _emitPositionChanged(trader, amm, t, p);
        emit IClearingHouse.PositionLiquidated(
            trader,
            amm,
            msg.sender,
            liq.closeBase,
            t.quoteAmount,
            s.reward,
            s.insurancePenalty,
            s.badDebt,
            s.shortfall,
            liq.full
        );
    }

    /// @dev A close that realised a profit (its margin eaten by funding, a price better than the
    /// guarded one) pays it only as far as the market's pool can, like any close: the rest is the
    /// trader's claim, or stays in the rest ({PositionMath-deferGain}). What of that profit the
    /// payout could not wait for paid the penalty: the fund's part waits as its receivable (the
    /// Vault's cap), the liquidator's beyond it is returned as the liquidator's claim.
    function _deferGain(
        address amm,
        StoredPosition memory p,
        Trade memory t,
        LiquidationMath.Split memory s
    ) private view returns (uint256 rewardClaim) {
        if (t.realizedPnl <= 0) return 0;
        uint256 available = _config.vault.profitAvailable(amm);
        PositionMath.deferGain(p, t, available);
        if (s.badDebt == 0) {
            rewardClaim = LiquidationMath.rewardBeyondGain(
                t.realizedPnl,
                available,
                t.claim,
                s.insurancePenalty,
                s.reward
            );
        }
    }

    /// @dev Moves a liquidation's money in the market's pool: the fund's flows and the liquidator's
    /// reward (with bad debt the budget's spend beyond the fair bad debt and then the fund pay the
    /// reward; `rewardClaim` of it is queued as the
    /// liquidator's claim), the locked margin released, then the trader's payout, in one Vault
    /// call ({IVault-settleLiquidation}).
    function _moveLiquidationMoney(
        address amm,
        address trader,
        LiquidationMath.Split memory s,
        Trade memory t,
        int256 lockedMarginDelta,
        uint256 rewardClaim
    ) private {
        uint256 fundPays = s.covered + (s.badDebt != 0 ? s.reward - s.rewardFromBudget : 0);
        int256 fundDelta = t.insuranceFlow + s.insurancePenalty.toInt256() - fundPays.toInt256();
        // One Vault call: the liquidator's account alone when the trader is owed nothing, else both
        // accounts, the liquidator's first, then the trader's payout and claim.
        if (t.freeCollateralDelta == 0 && t.claim == 0) {
            _config.vault.settle(
                msg.sender,
                amm,
                (s.reward - rewardClaim).toInt256(),
                fundDelta,
                lockedMarginDelta,
                rewardClaim
            );
        } else {
            _config.vault.settleLiquidation(
                amm,
                msg.sender,
                s.reward - rewardClaim,
                rewardClaim,
                fundDelta,
                lockedMarginDelta,
                trader,
                // Never negative: 0 for a partial, the payout less its claim for a whole.
                uint256(t.freeCollateralDelta),
                t.claim
            );
        }
    }

    /// @dev Adds an uncovered bad debt to the market's shortfall and makes the market reduce-only.
    function _recordShortfall(address amm, uint256 shortfall) private {
        uint256 total = _shortfalls[amm] + shortfall;
        _shortfalls[amm] = total;
        if (_markets[amm].status == IClearingHouse.MarketStatus.ACTIVE)
            _markets[amm].status = IClearingHouse.MarketStatus.REDUCE_ONLY;
        emit IClearingHouse.ShortfallRecorded(amm, shortfall, total);
    }
}
