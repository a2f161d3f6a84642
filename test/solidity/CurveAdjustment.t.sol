// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CurveAdjustment} from "../../contracts/libraries/CurveAdjustment.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Properties of the CurveAdjustment library that hold for every input, so no model is
/// needed (test/ts/CurveAdjustment.test.ts holds the library to an exact model, to the wei):
/// - a cost is the exact change rounded up (a positive cost up, a negative one toward zero), so a
///   move and its reverse sum to 0 or +1 wei, never less: no round trip pays the market;
/// - a move split in two costs 0 or +1 wei more than in one step, never less;
/// - a repeg's positive cost never exceeds what is available, and a partial repeg is the farthest
///   one that fits; a full repeg and its reverse restore the reserves;
/// - scaleDepth moves the price by less than one part in 1e18 (curves of at least 1 base);
/// - the spread stays within [min(base, max), max] and never falls when an input grows;
/// - the leverage bound accepts every trade that does not grow |net|, and more funds never turn a
///   trade away.
/// Reserves are bounded by what a market holds: base 1e6 wei .. 2^100, quote up to 2^120.
contract CurveAdjustmentTest is TestBase {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant MAX_BASE = 2 ** 100;
    uint256 internal constant MAX_QUOTE = 2 ** 120;

    // ------------------------------------------------------------------ inputs

    /// @dev A base reserve, a quote reserve, and a net position that closes on the curve (b + net > 0),
    /// long up to 3 x b, short up to b - 1.
    function _curve(
        uint256 qSeed,
        uint256 bSeed,
        uint256 netSeed,
        bool long
    ) internal pure returns (uint256 q, uint256 b, int256 net) {
        b = boundLog(bSeed, 1e6, MAX_BASE);
        q = boundLog(qSeed, 1, MAX_QUOTE);
        net = long ? int256(boundLog(netSeed, 1, 3 * b)) : -int256(boundLog(netSeed, 1, b - 1));
        if (netSeed % 16 == 0) net = 0;
    }

    /// @dev A second quote reserve: the first times a ratio in (0, 100], at least 1 wei.
    function _otherQuote(uint256 q, uint256 seed) internal pure returns (uint256 q1) {
        q1 = (q * boundLog(seed, 1, 100 * WAD)) / WAD;
        if (q1 == 0) q1 = 1;
        if (q1 > MAX_QUOTE) q1 = MAX_QUOTE;
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return uint256(x >= 0 ? x : -x);
    }

    // ------------------------------------------------------------------ cost

    /// @notice cost(A -> B) + cost(B -> A) is 0 or 1 wei: both costs are the exact change rounded
    /// up, so a round trip never pays the market. The same curve with a new depth too.
    function testFuzz_aMoveAndItsReverseSumToZeroOrOneWei(
        uint256 qSeed,
        uint256 bSeed,
        uint256 netSeed,
        bool long,
        uint256 q1Seed,
        uint256 depthSeed
    ) public pure {
        (uint256 q0, uint256 b0, int256 net) = _curve(qSeed, bSeed, netSeed, long);
        uint256 q1 = _otherQuote(q0, q1Seed);
        // The new base keeps the net position closable: at least |net| + 1 when short.
        uint256 b1 = bound(depthSeed, net < 0 ? _abs(net) + 1 : 1, MAX_BASE);
        if (depthSeed % 2 == 0) b1 = b0;
        int256 there = CurveAdjustment.adjustmentCost(q0, b0, q1, b1, net);
        int256 back = CurveAdjustment.adjustmentCost(q1, b1, q0, b0, net);
        assertGe(there + back, int256(0), "a round trip pays the market");
        assertLe(there + back, int256(1), "a round trip costs the market more than a wei");
        if (net == 0) assertEq(there, int256(0), "no net position, no cost");
    }

    /// @notice Two steps A -> B -> C cost 0 or 1 wei more than A -> C: splitting a repeg or a depth
    /// change gains nothing from the rounding.
    function testFuzz_aMoveSplitInTwoCostsAtMostOneWeiMore(
        uint256 qSeed,
        uint256 bSeed,
        uint256 netSeed,
        bool long,
        uint256 q1Seed,
        uint256 q2Seed,
        uint256 b1Seed
    ) public pure {
        (uint256 q0, uint256 b0, int256 net) = _curve(qSeed, bSeed, netSeed, long);
        uint256 q1 = _otherQuote(q0, q1Seed);
        uint256 q2 = _otherQuote(q0, q2Seed);
        uint256 b1 = bound(b1Seed, net < 0 ? _abs(net) + 1 : 1, MAX_BASE);
        int256 split =
            CurveAdjustment.adjustmentCost(q0, b0, q1, b1, net) + CurveAdjustment.adjustmentCost(q1, b1, q2, b0, net);
        int256 direct = CurveAdjustment.adjustmentCost(q0, b0, q2, b0, net);
        assertGe(split, direct, "splitting saves the market's budget from paying");
        assertLe(split, direct + 1, "splitting costs more than a wei of rounding");
    }

    /// @notice A repeg (base unchanged) costs with the sign of net x (q1 - q0): the net long gains
    /// when the price rises, the net short when it falls.
    function testFuzz_aRepegCostsWhenTheNetPositionGains(
        uint256 qSeed,
        uint256 bSeed,
        uint256 netSeed,
        bool long,
        uint256 q1Seed
    ) public pure {
        (uint256 q0, uint256 b, int256 net) = _curve(qSeed, bSeed, netSeed, long);
        uint256 q1 = _otherQuote(q0, q1Seed);
        int256 cost = CurveAdjustment.adjustmentCost(q0, b, q1, b, net);
        if (net == 0 || q1 == q0) assertEq(cost, int256(0), "no move or no position");
        else if ((net > 0) == (q1 > q0)) assertGe(cost, int256(1), "the traders gain: the market pays");
        else assertLe(cost, int256(0), "the traders lose: the market pays nothing");
    }

    // ------------------------------------------------------------------ repeg

    /// @notice repegWithin never charges more than is available; it moves toward the target and no
    /// farther; when it stops short, one wei farther would cost more than is available.
    function testFuzz_aRepegFitsTheBudgetAndGoesAsFarAsItCan(
        uint256 qSeed,
        uint256 bSeed,
        uint256 netSeed,
        bool long,
        uint256 targetSeed,
        uint256 availableSeed
    ) public pure {
        (uint256 q0, uint256 b, int256 net) = _curve(qSeed, bSeed, netSeed, long);
        uint256 target = _otherQuote(q0, targetSeed);
        int256 full = CurveAdjustment.adjustmentCost(q0, b, target, b, net);
        uint256 available = full > 0 ? bound(availableSeed, 0, uint256(full) * 2) : availableSeed % 1e30;
        (uint256 q1, int256 cost) = CurveAdjustment.repegWithin(q0, b, target, net, available);

        assertEq(cost, CurveAdjustment.adjustmentCost(q0, b, q1, b, net), "the cost is the move's");
        if (cost > 0) assertLe(uint256(cost), available, "the cost exceeds the budget");
        if (target >= q0) assertTrue(q1 >= q0 && q1 <= target, "q1 outside [q0, target]");
        else assertTrue(q1 <= q0 && q1 >= target, "q1 outside [target, q0]");
        if (full <= 0 || uint256(full) <= available) {
            assertEq(q1, target, "an affordable repeg is a full one");
        } else {
            assertTrue(q1 != target, "an unaffordable repeg is partial");
            uint256 further = target > q0 ? q1 + 1 : q1 - 1;
            int256 furtherCost = CurveAdjustment.adjustmentCost(q0, b, further, b, net);
            assertLt(int256(available), furtherCost, "one wei farther still fits: not the farthest");
        }
    }

    /// @notice A full repeg to a target and a full repeg back restore the quote reserve, and the two
    /// costs sum to 0 or 1 wei.
    function testFuzz_aFullRepegAndBackRestoresTheReserves(
        uint256 qSeed,
        uint256 bSeed,
        uint256 netSeed,
        bool long,
        uint256 targetSeed
    ) public pure {
        (uint256 q0, uint256 b, int256 net) = _curve(qSeed, bSeed, netSeed, long);
        uint256 target = _otherQuote(q0, targetSeed);
        (uint256 q1, int256 there) = CurveAdjustment.repegWithin(q0, b, target, net, type(uint256).max);
        (uint256 q2, int256 back) = CurveAdjustment.repegWithin(q1, b, q0, net, type(uint256).max);
        assertEq(q1, target, "the full repeg reaches the target");
        assertEq(q2, q0, "the repeg back restores the quote reserve");
        assertGe(there + back, int256(0), "a round trip pays the market");
        assertLe(there + back, int256(1), "a round trip costs the market more than a wei");
    }

    // ------------------------------------------------------------------ depth

    /// @notice scaleDepth rounds each reserve down by less than a wei, so q1 x b0 and q0 x b1 differ
    /// by less than max(q0, b0); for a price of at least 1 on a curve of at least 1 base after the
    /// change, the price moves by less than one part in 1e18.
    function testFuzz_scaleDepthKeepsThePrice(uint256 qSeed, uint256 bSeed, uint256 ratioSeed) public pure {
        uint256 b0 = boundLog(bSeed, 1, MAX_BASE);
        uint256 q0 = boundLog(qSeed, 1, MAX_QUOTE);
        uint256 ratio = boundLog(ratioSeed, 1, 100 * WAD);
        (uint256 q1, uint256 b1) = CurveAdjustment.scaleDepth(q0, b0, ratio);
        assertEq(q1, (q0 * ratio) / WAD, "quote scaled down");
        assertEq(b1, (b0 * ratio) / WAD, "base scaled down");
        uint256 cross0 = q0 * b1;
        uint256 cross1 = q1 * b0;
        uint256 diff = cross0 > cross1 ? cross0 - cross1 : cross1 - cross0;
        assertLt(diff, q0 > b0 ? q0 : b0, "the price moved by more than the rounding");
        // |p1 / p0 - 1| = diff / (q0 x b1) < 1e-18.
        if (q0 >= b0 && b1 >= WAD) assertLt(diff * WAD, cross0, "the price moved by 1e-18 or more");
    }

    // ------------------------------------------------------------------ spread

    function _spread(
        uint256 baseSpread,
        uint256 maxSpread,
        uint256 skew,
        uint256 gap,
        uint256 drawdown
    ) internal pure returns (uint256) {
        return CurveAdjustment.spreadRatio(CurveAdjustment.SpreadInputs(baseSpread, maxSpread, skew, gap, drawdown));
    }

    /// @notice The spread is within [min(base, max), max] and does not fall when skew, gap or
    /// drawdown grows.
    function testFuzz_theSpreadIsCappedAndGrowsWithEachInput(
        uint256 baseSeed,
        uint256 maxSeed,
        uint256 skew,
        uint256 gap,
        uint256 drawdown,
        uint256 more
    ) public pure {
        uint256 baseSpread = bound(baseSeed, 0, 0.01e18);
        uint256 maxSpread = bound(maxSeed, 0, 0.05e18);
        skew = bound(skew, 0, 10 * WAD);
        gap = bound(gap, 0, WAD);
        drawdown = bound(drawdown, 0, WAD);
        more = bound(more, 0, WAD);
        uint256 spread = _spread(baseSpread, maxSpread, skew, gap, drawdown);
        assertLe(spread, maxSpread, "above the cap");
        assertGe(spread, baseSpread < maxSpread ? baseSpread : maxSpread, "below the base spread");
        assertGe(_spread(baseSpread, maxSpread, skew + more, gap, drawdown), spread, "more skew, less spread");
        assertGe(_spread(baseSpread, maxSpread, skew, gap + more, drawdown), spread, "more gap, less spread");
        assertGe(_spread(baseSpread, maxSpread, skew, gap, drawdown + more), spread, "more drawdown, less spread");
    }

    // ------------------------------------------------------------------ leverage

    /// @notice A trade that does not grow |net| is always within the bound; one that is within stays
    /// so with more funds.
    function testFuzz_theLeverageBoundOnlyStopsRiskAndYieldsToFunds(
        int128 netBefore,
        int128 netAfter,
        uint256 priceSeed,
        uint256 fundsSeed,
        uint256 leverageSeed,
        uint256 more
    ) public pure {
        uint256 price = boundLog(priceSeed, 1, 1e30);
        uint256 funds = bound(fundsSeed, 0, 2 ** 128);
        uint256 leverage = bound(leverageSeed, 0, 50 * WAD);
        more = bound(more, 0, 2 ** 128);
        bool within = CurveAdjustment.withinLeverage(netBefore, netAfter, price, funds, leverage);
        if (_abs(netAfter) <= _abs(netBefore) || leverage == 0) assertTrue(within, "a risk-reducing trade stopped");
        if (within) {
            bool richer = CurveAdjustment.withinLeverage(netBefore, netAfter, price, funds + more, leverage);
            assertTrue(richer, "more funds turned the trade away");
        }
    }
}
