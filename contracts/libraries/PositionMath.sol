// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "../interfaces/IAmm.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";
import {FixedPoint} from "./FixedPoint.sol";
import {Funding} from "./Funding.sol";

/// @notice A position as stored: slot 1 size and margin, slot 2 open notional and the funding
/// index the position last settled at (its side's index).
struct StoredPosition {
    int128 size;
    uint128 margin;
    uint128 openNotional;
    int128 fundingCheckpoint;
}

/// @notice What one trade did, gathered so the position's event is emitted from one place and a
/// preview can report it field by field. `fee` is everything the trader paid for the trade: the
/// exchange fee (the insurance fund's) plus `spread`, the dynamic curve's spread (the market
/// budget's). `curveCost` is what a repeg the trade triggered cost the budget (see {IAmmCurve}).
/// `unbacked` is the part of a realised profit the pool could not pay that the trade still spent
/// on what the position owed (a funding debt beyond its margin, the spread, the fee): see
/// {PositionMath-deferGain}.
struct Trade {
    int256 baseDelta;
    uint256 quoteAmount;
    int256 realizedPnl;
    uint256 fee;
    int256 fundingPayment;
    int256 freeCollateralDelta;
    int256 insuranceFlow;
    uint256 claim;
    uint256 spread;
    uint256 curveCost;
    uint256 unbacked;
}

/// @title PositionMath
/// @notice Every rule of what a trade does to a position, as pure functions over the prices a
/// market quotes: the ClearingHouse runs them on the prices of its swaps, the viewer's previews on
/// the same swaps' previews, so a preview is the trade's own arithmetic, not a copy of it.
/// @dev Rounding always goes against the trader: values of a long and costs of a short are
/// rounded so the position never looks healthier, and fees and margins of new legs round up.
library PositionMath {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    // ---------------------------------------------------------------- opening checks

    /// @notice The notional `margin x leverage` of an open, after the checks every open makes:
    /// a positive margin, leverage at most 1 / initialMarginRatio, a non-zero notional.
    function openNotional(
        uint256 margin,
        uint256 leverage,
        uint256 initialMarginRatio
    ) internal pure returns (uint256) {
        if (margin == 0) revert ICommonErrors.ZeroAmount();
        uint256 maxLeverage = FixedPoint.WAD.wDivDown(initialMarginRatio);
        if (leverage > maxLeverage) revert IClearingHouse.LeverageTooHigh(leverage, maxLeverage);
        uint256 notional = margin.wMulDown(leverage);
        if (notional == 0) revert IClearingHouse.ZeroNotional();
        return notional;
    }

    /// @notice What an open of `notional` on `side` does to a position whose exit value (what
    /// closing it now would realise) is `exitValue`.
    function tradeKind(
        int256 size,
        Side side,
        uint256 notional,
        uint256 exitValue
    ) internal pure returns (IClearingHouse.TradeKind) {
        if (size == 0) return IClearingHouse.TradeKind.OPEN;
        if ((size > 0) == (side == Side.LONG)) return IClearingHouse.TradeKind.INCREASE;
        return notional < exitValue ? IClearingHouse.TradeKind.REDUCE : IClearingHouse.TradeKind.REVERSE;
    }

    // ---------------------------------------------------------------- trade steps

    /// @notice Reverts unless the existing position `p` may grow: it must meet `initialMarginRatio`
    /// (its funding up to `funding` settled) valued at `notionalBefore`, its value at the spot price
    /// before the trade, so the trade's own price impact cannot make an underwater position look
    /// healthy. The new leg meets it by its leverage, and the sum of two positions that meet a
    /// ratio does. Nothing to check for no position.
    function requireMayIncrease(
        StoredPosition memory p,
        IAmm.FundingSnapshot memory funding,
        uint256 notionalBefore,
        uint256 initialMarginRatio
    ) internal pure {
        if (p.size == 0) return;
        requireEquity(
            int256(uint256(p.margin)) - pendingFunding(p, funding) + pnl(p.size, p.openNotional, notionalBefore),
            notionalBefore,
            initialMarginRatio
        );
    }

    /// @notice Adds `base` bought (LONG) or sold (SHORT) for `notional` to `p` with `margin` more,
    /// settling its funding; margin and fee come from free collateral. Check
    /// {requireMayIncrease} first.
    function increase(
        StoredPosition memory p,
        Side side,
        uint256 base,
        uint256 margin,
        uint256 notional,
        IAmm.FundingSnapshot memory funding,
        uint256 feeRatio
    ) internal pure returns (Trade memory t) {
        int256 marginAfterFunding = settleFunding(p, side, funding, t);
        t.baseDelta = side == Side.LONG ? base.toInt256() : -base.toInt256();
        t.quoteAmount = notional;
        t.fee = notional.wMulUp(feeRatio);
        t.freeCollateralDelta = -(margin + t.fee).toInt256();
        int256 newMargin = marginAfterFunding + margin.toInt256();
        // A margin eaten by funding and not restored by this deposit: only liquidation may touch it.
        if (newMargin < 0) revert IClearingHouse.PositionUnderwater(marginAfterFunding);
        p.size = (p.size + t.baseDelta).toInt128();
        p.margin = uint256(newMargin).toUint128();
        p.openNotional = (p.openNotional + notional).toUint128();
    }

    /// @notice Takes `base` off `p` for `quote` (the quote received closing a long, paid closing a
    /// short), settling its funding and a fee of `feeRatio` into its margin. Returns the trade; the
    /// position keeps the rest (a rest of 0 is a close: its margin is the payout).
    function reduce(
        StoredPosition memory p,
        uint256 base,
        uint256 quote,
        IAmm.FundingSnapshot memory funding,
        uint256 feeRatio
    ) internal pure returns (Trade memory t) {
        int256 marginAfterFunding = settleFunding(p, p.size > 0 ? Side.LONG : Side.SHORT, funding, t);
        t.quoteAmount = quote;
        t.fee = quote.wMulUp(feeRatio);
        realize(p, base, t);
        int256 remaining = marginAfterFunding + t.realizedPnl - t.fee.toInt256();
        if (remaining < 0) revert IClearingHouse.PositionUnderwater(remaining);
        if (p.size == 0) {
            t.freeCollateralDelta = remaining;
            p.margin = 0;
            p.fundingCheckpoint = 0;
        } else {
            p.margin = uint256(remaining).toUint128();
        }
    }

    /// @notice Defers the part of a reduce's or close's realised profit that its market's pool
    /// cannot pay now. `profitAvailable` is what the pool holds beyond its locked margin and queued
    /// claims ({IVault-profitAvailable}). A close queues it as the trader's claim, out of the
    /// payout. A partial reduce leaves it unrealised in the rest instead: the closed part's cost
    /// basis takes it (the rest's basis gives it up), so the rest is worth what it was and its own
    /// close later cannot find it underwater for a profit it never got; only what the rest's margin
    /// or a long's basis cannot carry is queued out of the margin. Funding is not deferred: the
    /// locked margin follows every accrual as it happens ({lockedMarginDelta}). So no profit is
    /// paid, or added to a margin, out of money that backs another position or an earlier claim.
    /// What the payout or the rest's margin cannot defer had already gone to what the position
    /// owed out of that profit (a funding debt beyond its margin, the spread, the fee): that part
    /// is `t.unbacked`, and the ClearingHouse has the insurance fund advance it into the pool as
    /// the fund's receivable ({IVault-advanceToPool}), so the funding receivers' margins stay backed.
    function deferGain(StoredPosition memory p, Trade memory t, uint256 profitAvailable) internal pure {
        if (t.realizedPnl <= profitAvailable.toInt256()) return;
        uint256 excess = uint256(t.realizedPnl) - profitAvailable;
        if (p.size == 0) {
            t.claim = Math.min(excess, uint256(t.freeCollateralDelta));
            t.freeCollateralDelta -= t.claim.toInt256();
            t.unbacked = excess - t.claim;
            return;
        }
        uint256 carried = Math.min(excess, p.margin);
        if (p.size > 0) {
            carried = Math.min(carried, p.openNotional);
            p.openNotional -= uint128(carried);
        } else {
            p.openNotional += carried.toUint128();
        }
        p.margin -= uint128(carried);
        t.realizedPnl -= carried.toInt256();
        t.claim = Math.min(excess - carried, p.margin);
        p.margin -= uint128(t.claim);
        t.unbacked = excess - carried - t.claim;
    }

    /// @notice How a trade moves its market's locked margin: the position's margin from
    /// `marginBefore` to `p.margin`, except the funding it settled (`t.fundingPayment`), which
    /// the locked margin already followed when it accrued; plus the accrual in this trade (the
    /// receivers' gain less the payers' debt, which is minus the fund's share `t.insuranceFlow`).
    /// So the locked margin is every open position's margin net of its pending funding (to a few
    /// wei in the pool's favour) and funding never moves what is free to pay profit.
    function lockedMarginDelta(
        StoredPosition memory p,
        uint256 marginBefore,
        Trade memory t
    ) internal pure returns (int256) {
        return int256(uint256(p.margin)) - marginBefore.toInt256() + t.fundingPayment - t.insuranceFlow;
    }

    /// @notice A fresh position of notional `rest` bought as `base` on `side` at `leverage`: the
    /// opening leg of a reversal. Its margin rounds up, so it is never more leveraged than asked.
    function openRest(
        Side side,
        uint256 base,
        uint256 rest,
        uint256 leverage,
        IAmm.FundingSnapshot memory funding,
        uint256 feeRatio
    ) internal pure returns (StoredPosition memory opened, uint256 fee) {
        opened.size = (side == Side.LONG ? base.toInt256() : -base.toInt256()).toInt128();
        opened.margin = rest.wDivUp(leverage).toUint128();
        opened.openNotional = rest.toUint128();
        opened.fundingCheckpoint = sideIndex(side, funding).toInt128();
        fee = rest.wMulUp(feeRatio);
    }

    /// @notice Whether the rest of a reversal is worth trading: it must buy at least one whole wei
    /// of base at the pool's price (`rest x baseReserve >= quoteReserve`) and the pool must give at
    /// least one wei for it (`baseOut`). A smaller rest is dust whose base, rounded in the pool's
    /// favour, would cost far more than it is worth, so the reversal becomes a plain close.
    function restTradable(
        uint256 rest,
        uint256 baseOut,
        uint256 quoteReserve,
        uint256 baseReserve
    ) internal pure returns (bool) {
        return baseOut != 0 && rest * baseReserve >= quoteReserve;
    }

    // ---------------------------------------------------------------- dynamic curve

    /// @notice Adds a swap's spread and curve cost to a trade whose money comes from free
    /// collateral (an open, an increase, a reversal's new leg): the spread is paid like the fee.
    function chargeSpread(Trade memory t, uint256 spread, uint256 curveCost) internal pure {
        t.curveCost += curveCost;
        if (spread == 0) return;
        t.spread += spread;
        t.fee += spread;
        t.freeCollateralDelta -= spread.toInt256();
    }

    /// @notice Adds a reduce's or close's spread and curve cost to `t` (after {reduce}): the spread
    /// is paid like the fee, out of the margin the position keeps or the close's payout.
    function chargeSpreadOnReduce(
        StoredPosition memory p,
        Trade memory t,
        uint256 spread,
        uint256 curveCost
    ) internal pure {
        t.curveCost += curveCost;
        if (spread == 0) return;
        t.spread += spread;
        t.fee += spread;
        int256 left = (p.size == 0 ? t.freeCollateralDelta : int256(uint256(p.margin))) - spread.toInt256();
        if (left < 0) revert IClearingHouse.PositionUnderwater(left);
        if (p.size == 0) t.freeCollateralDelta = left;
        else p.margin = uint256(left).toUint128();
    }

    /// @notice How a trade moves its market's locked margin beyond its position's
    /// ({lockedMarginDelta}): the spread joins the budget (locked), the curve cost the budget paid
    /// leaves it (released, so the pool can pay the traders' gain from the move).
    function curveLockedDelta(Trade memory t) internal pure returns (int256) {
        return t.spread.toInt256() - t.curveCost.toInt256();
    }

    // ---------------------------------------------------------------- funding

    /// @notice Settles `p`'s funding up to `funding` into `t` and returns its margin after it
    /// (negative if funding ate more than the margin); moves the checkpoint to `side`'s index.
    function settleFunding(
        StoredPosition memory p,
        Side side,
        IAmm.FundingSnapshot memory funding,
        Trade memory t
    ) internal pure returns (int256 marginAfterFunding) {
        if (p.size != 0) t.fundingPayment = pendingFunding(p, funding);
        t.insuranceFlow = funding.insuranceFlow;
        p.fundingCheckpoint = sideIndex(side, funding).toInt128();
        return int256(uint256(p.margin)) - t.fundingPayment;
    }

    /// @notice Funding `p` owes at `funding`'s indices (negative: is owed); 0 for no position.
    function pendingFunding(
        StoredPosition memory p,
        IAmm.FundingSnapshot memory funding
    ) internal pure returns (int256) {
        if (p.size == 0) return 0;
        int256 index = p.size > 0 ? funding.longIndex : funding.shortIndex;
        return Funding.owed(p.size, index - p.fundingCheckpoint);
    }

    /// @notice The index a new position on `side` checkpoints at.
    function sideIndex(Side side, IAmm.FundingSnapshot memory funding) internal pure returns (int256) {
        return side == Side.LONG ? funding.longIndex : funding.shortIndex;
    }

    // ---------------------------------------------------------------- realisation

    /// @notice Takes `base` off the position for `t.quoteAmount` and realises its PnL into `t`
    /// (average-entry accounting). The closed part's cost basis rounds against the trader; the rest
    /// keeps what is left, so over the position's life the bases add up to the open notional exactly.
    function realize(StoredPosition memory p, uint256 base, Trade memory t) internal pure {
        uint256 closedBasis = p.openNotional;
        // A whole close takes the whole basis: no division to round.
        bool whole = base == SignedMath.abs(p.size);
        if (p.size > 0) {
            if (!whole) closedBasis = closedBasis.mulDivUp(base, uint256(int256(p.size)));
            t.realizedPnl = t.quoteAmount.toInt256() - closedBasis.toInt256();
            t.baseDelta = -base.toInt256();
        } else {
            if (!whole) closedBasis = closedBasis.mulDivDown(base, uint256(-int256(p.size)));
            t.realizedPnl = closedBasis.toInt256() - t.quoteAmount.toInt256();
            t.baseDelta = base.toInt256();
        }
        p.size = (p.size + t.baseDelta).toInt128();
        p.openNotional = (p.openNotional - closedBasis).toUint128();
    }

    // ---------------------------------------------------------------- valuation

    /// @notice PnL of a position valued at `quote`: what closing it yields over (long) or under
    /// (short) its cost.
    function pnl(int256 size, uint256 openNotional_, uint256 quote) internal pure returns (int256) {
        return size > 0 ? quote.toInt256() - openNotional_.toInt256() : openNotional_.toInt256() - quote.toInt256();
    }

    /// @notice |size| x price: rounded down for a long (its value), up for a short (its cost to buy back).
    function notionalAt(int256 size, uint256 price) internal pure returns (uint256) {
        return size > 0 ? uint256(size).wMulDown(price) : uint256(-size).wMulUp(price);
    }

    /// @notice |size| x spot price from the reserves directly, rounded as {notionalAt}.
    function notionalAtReserves(
        int256 size,
        uint256 quoteReserve,
        uint256 baseReserve
    ) internal pure returns (uint256) {
        return
            size > 0
                ? uint256(size).mulDivDown(quoteReserve, baseReserve)
                : uint256(-size).mulDivUp(quoteReserve, baseReserve);
    }

    /// @notice (margin after funding + PnL) / notional with the position valued at `price`.
    function ratioAt(StoredPosition memory p, int256 marginAfterFunding, uint256 price) internal pure returns (int256) {
        uint256 notional = notionalAt(p.size, price);
        return ratio(marginAfterFunding + pnl(p.size, p.openNotional, notional), notional);
    }

    /// @notice Equity a margin removal is judged by: margin - pending funding + PnL at the exit
    /// value with profit left out, so unrealised profit never backs a withdrawal.
    function equityWithoutProfit(
        StoredPosition memory p,
        int256 pendingFunding_,
        uint256 exitValue
    ) internal pure returns (int256) {
        int256 profitOrLoss = pnl(p.size, p.openNotional, exitValue);
        if (profitOrLoss > 0) profitOrLoss = 0;
        return int256(uint256(p.margin)) - pendingFunding_ + profitOrLoss;
    }

    /// @notice The most margin `p` can release and still meet `initialMarginRatio` by
    /// {equityWithoutProfit} (never more than its margin; 0 for no position).
    function removableMargin(
        StoredPosition memory p,
        int256 pendingFunding_,
        uint256 exitValue,
        uint256 initialMarginRatio
    ) internal pure returns (uint256) {
        if (p.size == 0) return 0;
        int256 spare =
            equityWithoutProfit(p, pendingFunding_, exitValue) - exitValue.wMulUp(initialMarginRatio).toInt256();
        if (spare <= 0) return 0;
        return Math.min(uint256(spare), p.margin);
    }

    /// @notice Reverts unless equity >= ratio x notional (rounded up).
    function requireEquity(int256 equity, uint256 notional, uint256 requiredRatio) internal pure {
        uint256 required = notional.wMulUp(requiredRatio);
        if (equity < required.toInt256())
            revert IClearingHouse.MarginRatioTooLow(ratio(equity, notional), requiredRatio);
    }

    /// @notice equity / notional in 18 decimals, rounded toward minus infinity (an underwater
    /// position never looks healthier than it is); a position worth nothing has an unbounded
    /// ratio of the sign of its equity.
    function ratio(int256 equity, uint256 notional) internal pure returns (int256 r) {
        if (notional == 0) return equity < 0 ? type(int256).min : type(int256).max;
        int256 scaled = equity * 1e18;
        int256 divisor = notional.toInt256();
        r = scaled / divisor;
        // Solidity's signed division truncates toward zero: step down when it cut a negative value.
        if (scaled < 0 && r * divisor != scaled) r -= 1;
    }

    /// @notice The spot price P at which (mA + PnL(P)) / (|size| x P) = `ratio_`, with mA the
    /// margin after funding: a long's P = (openNotional - mA) / (|size| (1 - ratio)), rounded up;
    /// a short's P = (mA + openNotional) / (|size| (1 + ratio)), rounded down (both toward
    /// liquidation). 0 for no position, for a long no price can bring there, and for a short every
    /// price does.
    function priceAtRatio(
        int256 size,
        int256 marginAfterFunding,
        uint256 openNotional_,
        uint256 ratio_
    ) internal pure returns (uint256) {
        if (size == 0) return 0;
        int256 cost = openNotional_.toInt256();
        uint256 absSize = SignedMath.abs(size);
        if (size > 0) {
            if (marginAfterFunding >= cost) return 0;
            uint256 debt = uint256(cost - marginAfterFunding);
            return Math.mulDiv(debt, 1e36, absSize * (FixedPoint.WAD - ratio_), Math.Rounding.Ceil);
        }
        int256 cover = marginAfterFunding + cost;
        if (cover <= 0) return 0;
        return Math.mulDiv(uint256(cover), 1e36, absSize * (FixedPoint.WAD + ratio_), Math.Rounding.Floor);
    }
}
