// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {FixedPoint} from "./FixedPoint.sol";

/// @title CurveAdjustment
/// @notice The arithmetic of a dynamic curve (seed 004): what moving the curve costs, how far a
/// budget can move it, and the spread a trade pays. Pure functions over reserves, so the Amm, the
/// viewer, the keepers and the tests all use one formula.
/// @dev The market's traders hold a net position `net` (base; positive: net long). Closing it on
/// reserves (q, b) takes the pool to base b + net, so on x*y=k it pays the traders, in total and in
/// any order of closes,
///     V(q, b) = q - q*b / (b + net) = q * net / (b + net)      (negative: the traders pay).
/// An adjustment from (q0, b0) to (q1, b1) changes what the market owes its traders by
///     cost = V(q1, b1) - V(q0, b0) = net * (q1*(b0 + net) - q0*(b1 + net)) / ((b0 + net)*(b1 + net)),
/// the exact terminal-reserve valuation of the change. A positive cost is what the market's budget
/// pays, rounded up; a negative cost (the traders lose) is rounded toward zero. Both rounding
/// directions favour the protocol.
library CurveAdjustment {
    using FixedPoint for uint256;

    /// @notice The net position cannot be closed on the curve: b + net is not positive.
    error NetPositionExceedsCurve(uint256 baseReserve, int256 netPosition);

    /// @notice The signed change in what closing the net position pays the traders when the
    /// reserves go from (q0, b0) to (q1, b1). Positive: the market pays (rounded up).
    function adjustmentCost(uint256 q0, uint256 b0, uint256 q1, uint256 b1, int256 net) internal pure returns (int256) {
        if (net == 0) return 0;
        uint256 terminal0 = terminalBase(b0, net);
        uint256 terminal1 = terminalBase(b1, net);
        // q1*(b0+net) and q0*(b1+net) are below 2^256 for reserves and net below 2^127 (beyond,
        // the checked products revert).
        uint256 a = q1 * terminal0;
        uint256 c = q0 * terminal1;
        bool diffPositive = a >= c;
        uint256 diff = diffPositive ? a - c : c - a;
        // The cost's sign is net's sign times diff's.
        bool costPositive = diffPositive == (net > 0);
        uint256 magnitude = Math.mulDiv(
            SignedMath.abs(net),
            diff,
            terminal0 * terminal1,
            costPositive ? Math.Rounding.Ceil : Math.Rounding.Floor
        );
        // Checked: a magnitude of 2^255 or more (a net short leaving a few wei of base on a curve
        // of extreme reserves) reverts rather than wrapping into a cost of the other sign.
        int256 signed = SafeCast.toInt256(magnitude);
        return costPositive ? signed : -signed;
    }

    /// @notice The base reserve after the net position closes: b + net (must be positive).
    function terminalBase(uint256 baseReserve, int256 net) internal pure returns (uint256) {
        if (net >= 0) return baseReserve + uint256(net);
        uint256 shortBase = uint256(-net);
        if (shortBase >= baseReserve) revert NetPositionExceedsCurve(baseReserve, net);
        return baseReserve - shortBase;
    }

    /// @notice The quote reserve that puts the price of a curve with `baseReserve` at
    /// `targetPrice`, with the base reserve (the depth in base) unchanged: q = price x b, rounded
    /// down (so the spot price, q / b rounded down, reads at most the target).
    function quoteAtPrice(uint256 baseReserve, uint256 targetPrice) internal pure returns (uint256) {
        return baseReserve.wMulDown(targetPrice);
    }

    /// @notice A repeg of (q0, b) toward `targetQuote` (the base reserve stays) that costs the
    /// market at most `available`. When the whole move costs more, the quote reserve moves as far
    /// as `available` pays: cost = net x (q1 - q0) / (b + net) is linear in q1.
    /// @return q1 The new quote reserve.
    /// @return cost The repeg's exact cost ({adjustmentCost}); at most `available` when positive.
    function repegWithin(
        uint256 q0,
        uint256 b,
        uint256 targetQuote,
        int256 net,
        uint256 available
    ) internal pure returns (uint256 q1, int256 cost) {
        q1 = targetQuote;
        cost = adjustmentCost(q0, b, q1, b, net);
        if (cost <= 0 || uint256(cost) <= available) return (q1, cost);
        // The move costs the market: the net position gains from it. Move |q1 - q0| so that
        // |net| x |q1 - q0| / (b + net) <= available.
        uint256 step = Math.mulDiv(available, terminalBase(b, net), SignedMath.abs(net));
        q1 = targetQuote > q0 ? q0 + step : q0 - step;
        cost = adjustmentCost(q0, b, q1, b, net);
    }

    /// @notice Both reserves scaled by `depthRatio` (1e18 = unchanged), each rounded down, so the
    /// price stays (up to a wei of rounding) and the depth in base scales by the ratio.
    function scaleDepth(uint256 q0, uint256 b0, uint256 depthRatio) internal pure returns (uint256 q1, uint256 b1) {
        return (q0.wMulDown(depthRatio), b0.wMulDown(depthRatio));
    }

    /// @notice The depth ratio (WAD, rounded down) at which scaling both reserves of (q, b) costs
    /// the market exactly `room`. Scaled by r, the curve's terminal value is
    /// V(r) = r q net / (r b + net), rising with r (for either sign of net) toward q net / b, so
    /// with W = V(q, b) + room the ratio is
    ///     r = W net / (q net - W b) = 1 + room (b + net)^2 / (q net^2 - room b (b + net)).
    /// The cost is concave in r: the linear share of a larger step, 1 + (R - 1) room / cost(R),
    /// always costs more than `room`. The caller scales by at most this ratio; the reserves'
    /// rounding down and the cost's rounding up may still take the cost a few wei above `room`
    /// (see {AmmCurveModule}).
    /// @return ratio floor(1e18 r); type(uint256).max when no ratio costs `room` (W >= q net / b:
    /// every growth costs less, also for net 0); 1e18 (no growth) when a product of the formula
    /// exceeds 256 bits (reserves, net and room far beyond any market's).
    function depthRatioForCost(uint256 q, uint256 b, int256 net, uint256 room) internal pure returns (uint256) {
        uint256 size = SignedMath.abs(net);
        uint256 t = terminalBase(b, net);
        (bool ok1, uint256 qm) = Math.tryMul(q, size);
        (bool ok2, uint256 qmm) = Math.tryMul(qm, size);
        (bool ok3, uint256 rb) = Math.tryMul(room, b);
        (bool ok4, uint256 rbt) = Math.tryMul(rb, t);
        (bool ok5, uint256 rt) = Math.tryMul(room, t);
        (bool ok6, uint256 wt) = Math.tryMul(FixedPoint.WAD, t);
        if (!(ok1 && ok2 && ok3 && ok4 && ok5 && ok6)) return FixedPoint.WAD;
        if (qmm <= rbt) return type(uint256).max;
        uint256 denominator = qmm - rbt;
        // A quotient of 2^255 or more is beyond any ratio asked for (and would overflow below).
        if (denominator <= Math.mulDiv(rt, wt, 1 << 255)) return type(uint256).max;
        return FixedPoint.WAD + Math.mulDiv(rt, wt, denominator);
    }

    /// @notice The inputs of a trade's spread, each a ratio in 18 decimals.
    /// @param baseSpread The market's least spread (its own fee, paid on every trade).
    /// @param maxSpread The cap.
    /// @param skew |net position after the trade| / base reserve, when the trade adds to the net
    /// position's size; 0 when it reduces it.
    /// @param gap |spot - index| / index, when the trade moves the price further from the index; 0
    /// otherwise.
    /// @param drawdown (target - budget) / target, when the budget is below its target; 0 otherwise.
    struct SpreadInputs {
        uint256 baseSpread;
        uint256 maxSpread;
        uint256 skew;
        uint256 gap;
        uint256 drawdown;
    }

    /// @notice How much the skew term weighs: a net position of 10% of the base reserve adds 0.5%.
    uint256 internal constant SKEW_WEIGHT = 0.05e18;

    /// @notice The half-spread a trade pays as a fraction of its notional: the base spread, plus
    /// SKEW_WEIGHT x the skew it adds to, plus the index gap it widens, plus the base spread again
    /// scaled by the budget's drawdown; at most `maxSpread`. The buyer pays it above the curve's
    /// price, the seller below.
    function spreadRatio(SpreadInputs memory inputs) internal pure returns (uint256) {
        uint256 spread = inputs.baseSpread + inputs.gap;
        // A zero term adds nothing (x * 0 rounds to 0 either way): skip its multiplication.
        if (inputs.skew != 0) spread += inputs.skew.wMulUp(SKEW_WEIGHT);
        if (inputs.drawdown != 0) spread += inputs.baseSpread.wMulUp(inputs.drawdown);
        return Math.min(spread, inputs.maxSpread);
    }

    /// @notice Whether a trade taking the net position from `netBefore` to `netAfter` keeps the
    /// market's leverage (|net| x price over its funds) within `maxLeverage`. A trade that does not
    /// grow |net| is always within; `maxLeverage` 0 switches the bound off.
    function withinLeverage(
        int256 netBefore,
        int256 netAfter,
        uint256 price,
        uint256 funds,
        uint256 maxLeverage
    ) internal pure returns (bool) {
        if (maxLeverage == 0) return true;
        uint256 sizeAfter = SignedMath.abs(netAfter);
        if (sizeAfter <= SignedMath.abs(netBefore)) return true;
        return sizeAfter.wMulUp(price) <= funds.wMulDown(maxLeverage);
    }
}
