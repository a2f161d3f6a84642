// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmm, IAmmErrors} from "../../contracts/interfaces/IAmm.sol";
import {FundingPeriod} from "../../contracts/libraries/FundingPeriod.sol";
import {FundingPeriodHarness} from "../../contracts/test/FundingPeriodHarness.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice The funding state machine (FundingPeriod) through a harness that drives it as the Amm
/// does, against figures worked out by hand in the comments: periods opened from the window's
/// TWAPs and settled at their own premium, the accrual cap, the insurance fund's subsidy budget, a
/// parameter change that leaves the current period's accrual end alone, the end of funding, and on a
/// market whose dynamic curve is on the AMM budget, which pays the receiving side's excess above its
/// floor before the fund and takes the paying side's surplus up to its target.
/// Premiums are daily: over s seconds a premium p grows the indices by p x s / 86,400, the paying
/// side's growth rounded up and the receiving side's down. The fund pays the receiving side's excess
/// out of a budget of ratio x fund x s / 86,400 (rounded down) for a stretch of s seconds: 10% a day
/// here unless a test says otherwise.
contract FundingPeriodTest is TestBase {
    uint256 internal constant T0 = 1_000_000;
    uint256 internal constant E18 = 1e18;

    FundingPeriodHarness internal h;

    function setUp() public {
        vm.warp(T0);
        h = new FundingPeriodHarness(IAmm.FundingParams(0.1e18, 300, 3600));
        h.setSubsidyRatio(0.1e18);
    }

    // ------------------------------------------------------------------ helpers

    function _cp(uint256 mark, uint256 index) internal pure returns (FundingPeriod.Checkpoint memory) {
        return FundingPeriod.Checkpoint(uint120(mark), uint120(index), true);
    }

    /// @dev Two updates, at T0 + 300 and T0 + 600: the first starts the index history (no premium
    /// yet), the second closes a 300 s window with the mark at `markPrice` and the index at 2,000
    /// throughout. Cumulatives: mark 300 x 2,000 = 600,000 at the first; index from 0 there.
    function _openPremium(uint256 markPrice) internal returns (int256 premium) {
        vm.warp(T0 + 300);
        h.update(_cp(600_000e18, 0), true, 0);
        vm.warp(T0 + 600);
        (, premium, , ) = h.update(_cp(600_000e18 + 300 * markPrice, 300 * 2000e18), true, 0);
    }

    function _assertFunding(
        IAmm.FundingSnapshot memory f,
        int256 longIndex,
        int256 shortIndex,
        int256 insuranceFlow
    ) internal pure {
        assertEq(f.longIndex, longIndex, "long index");
        assertEq(f.shortIndex, shortIndex, "short index");
        assertEq(f.insuranceFlow, insuranceFlow, "insurance flow");
    }

    // ------------------------------------------------------------------ periods

    /// @notice The first update has no earlier index checkpoint: premium 0, TWAPs 0. The second
    /// averages its window: mark (1,203,000 - 600,000) / 300 = 2,010, index 600,000 / 300 = 2,000,
    /// premium 2,010 - 2,000 = +10 a day, and accrual stops 3,600 s after it.
    function test_update_setsThePremiumFromTheWindowTwaps() public {
        vm.warp(T0 + 300);
        (IAmm.FundingSnapshot memory f, int256 premium, uint256 markTwap, uint256 indexTwap) = h.update(
            _cp(600_000e18, 0),
            true,
            0
        );
        _assertFunding(f, 0, 0, 0);
        assertEq(premium, int256(0), "first premium");
        assertEq(markTwap + indexTwap, 0, "first TWAPs");

        vm.warp(T0 + 600);
        (f, premium, markTwap, indexTwap) = h.update(_cp(1_203_000e18, 600_000e18), true, 0);
        assertEq(markTwap, 2010e18, "mark TWAP");
        assertEq(indexTwap, 2000e18, "index TWAP");
        assertEq(premium, int256(10e18), "premium");
        (int256 p, uint256 updatedAt, uint256 accrualEnd) = h.period();
        assertEq(p, int256(10e18), "stored premium");
        assertEq(updatedAt, T0 + 600, "updatedAt");
        assertEq(accrualEnd, T0 + 600 + 3600, "accrualEnd");
        assertEq(h.accruedAt(), T0 + 600, "accruedAt");
        FundingPeriod.Checkpoint memory c = h.checkpoint();
        assertEq(uint256(c.markCumulative), 1_203_000e18, "mark checkpoint");
        assertEq(uint256(c.indexCumulative), 600_000e18, "index checkpoint");
    }

    /// @notice 3 long and 1 short under +10 a day. 864 s in (0.01 day) each side moves 0.1 exactly:
    /// longs pay 0.3, shorts get 0.1, the fund 0.2. At 1,000 s the update settles 864..1,000 at the
    /// old premium: 10 x 1,000 / 86,400 = 0.11574074074074074074..., so the paid index is
    /// 0.115740740740740741 (up) and the received one 0.115740740740740740 (down); over the stretch
    /// longs pay 3 x 0.015740740740740741 = 0.047222222222222223 and shorts get
    /// 0.015740740740740740: the fund takes 0.031481481481481483. The window's mark TWAP 1,995
    /// sets -5 a day: 1,728 s (0.02 day) later shorts pay 0.1 each and longs get 0.1 each, 0.3 in
    /// all, the fund paying the 0.2 beyond the shorts' 0.1: with 100 in the fund its budget is
    /// 100 x 10% x 0.02 = 0.2 exactly, so the longs are paid in full.
    function test_update_settlesThePeriodAtItsOwnPremiumThenTheNextAtTheNew() public {
        vm.warp(T0 + 100);
        h.trade(3e18, 1e18, 0);
        assertEq(_openPremium(2010e18), int256(10e18), "premium +10");

        vm.warp(T0 + 600 + 864);
        _assertFunding(h.trade(3e18, 1e18, 0), 0.1e18, 0.1e18, 0.2e18);

        vm.warp(T0 + 1600);
        (IAmm.FundingSnapshot memory f, int256 premium, , ) = h.update(
            _cp(1_203_000e18 + 1000 * 1995e18, 600_000e18 + 1000 * 2000e18),
            true,
            0
        );
        _assertFunding(f, 115740740740740741, 115740740740740740, 31481481481481483);
        assertEq(premium, -5e18, "premium -5");
        (int256 startLong, int256 startShort) = h.startIndices();
        assertEq(startLong, int256(115740740740740741), "next period starts at the long index reached");
        assertEq(startShort, int256(115740740740740740), "next period starts at the short index reached");

        vm.warp(T0 + 1600 + 1728);
        _assertFunding(h.indicesNow(100e18), 15740740740740741, 15740740740740740, -0.2e18);
        _assertFunding(h.trade(3e18, 1e18, 100e18), 15740740740740741, 15740740740740740, -0.2e18);
    }

    /// @notice An update before minUpdateInterval (300 s) has passed since the last reverts with
    /// the earliest time it may run; at that time it runs.
    function test_update_revertsBeforeMinUpdateInterval() public {
        vm.warp(T0 + 299);
        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.FundingUpdateTooEarly.selector, T0 + 300));
        h.update(_cp(0, 0), true, 0);
        vm.warp(T0 + 300);
        h.update(_cp(0, 0), true, 0);
        (, uint256 updatedAt, ) = h.period();
        assertEq(updatedAt, T0 + 300, "updated at the earliest time");
    }

    /// @notice No premium (and TWAPs of 0) when the premium is not allowed (frozen market or no
    /// valid index now), though the window is checkpointed all the same.
    function test_update_setsNoPremiumWhenNotAllowed() public {
        vm.warp(T0 + 300);
        h.update(_cp(600_000e18, 0), true, 0);
        vm.warp(T0 + 600);
        (, int256 premium, uint256 markTwap, uint256 indexTwap) = h.update(_cp(1_203_000e18, 600_000e18), false, 0);
        assertEq(premium, int256(0), "premium");
        assertEq(markTwap + indexTwap, 0, "TWAPs");
        assertEq(uint256(h.checkpoint().markCumulative), 1_203_000e18, "checkpointed");
    }

    /// @notice Cumulatives wrap at 2^120 and only their differences count: a window whose mark
    /// cumulative wrapped still averages (303,000 + 2^120 - (2^120 - 300,000)) / 300 = 2,010.
    function test_update_averagesAcrossAWrappedCumulative() public {
        uint256 nearTop = 2 ** 120 - 300_000e18;
        vm.warp(T0 + 300);
        h.update(_cp(nearTop, 0), true, 0);
        vm.warp(T0 + 600);
        (, int256 premium, uint256 markTwap, ) = h.update(_cp(303_000e18, 600_000e18), true, 0);
        assertEq(markTwap, 2010e18, "mark TWAP");
        assertEq(premium, int256(10e18), "premium");
    }

    /// @notice The premium is mark - index, clamped to +/- 10% of the index TWAP: 2,300 vs 2,000
    /// gives +200, 1,700 vs 2,000 gives -200, 1,999 vs 2,000 gives -1.
    function test_premium_clampsToMaxPremiumRatio() public view {
        assertEq(h.premiumOf(2300e18, 2000e18, 0.1e18), int256(200e18), "clamped up");
        assertEq(h.premiumOf(1700e18, 2000e18, 0.1e18), -200e18, "clamped down");
        assertEq(h.premiumOf(1999e18, 2000e18, 0.1e18), -1e18, "inside the band");
    }

    // ------------------------------------------------------------------ accrual cap

    /// @notice 1 long, 1 short under +10 a day with maxAccrualPeriod 3,600 s. 1,800 s in:
    /// 10 x 1,800 / 86,400 = 0.2083...: paid 0.208333333333333334, received ...333, the fund 1 wei.
    /// At 7,200 s funding has stopped at 3,600 s: 10 x 3,600 / 86,400 = 0.41666...: paid
    /// 0.416666666666666667, received ...666; the stretch 1,800..3,600 gives each side
    /// 0.208333333333333333 and the fund nothing. Later still, nothing moves.
    function test_accrue_stopsAtMaxAccrualPeriod() public {
        vm.warp(T0 + 100);
        h.trade(1e18, 1e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 1800);
        _assertFunding(h.trade(1e18, 1e18, 0), 208333333333333334, 208333333333333333, 1);
        vm.warp(T0 + 600 + 7200);
        _assertFunding(h.trade(1e18, 1e18, 0), 416666666666666667, 416666666666666666, 0);
        vm.warp(T0 + 600 + 9000);
        _assertFunding(h.indicesNow(0), 416666666666666667, 416666666666666666, 0);
        _assertFunding(h.trade(1e18, 1e18, 0), 416666666666666667, 416666666666666666, 0);
    }

    // ------------------------------------------------------------------ the subsidy budget

    /// @notice +10 a day for 8,640 s (0.1 day: 1 per unit, exactly) on 1 long and 4 short, with
    /// 1 in the fund: its budget is 1 x 10% x 0.1 = 0.01. Longs pay 1, shorts would get 4; they get
    /// 1 + 0.01 = 1.01, 0.2525 per unit, and the fund pays its 0.01. The short start index drops by
    /// what shorts were denied: 0.2525 - 1 = -0.7475. The next 8,640 s, with 1,000 in the fund
    /// (budget 10), shorts get 1 each again: short index -0.7475 + 2 = 1.2525, the fund pays 4 - 1 = 3.
    function test_accrue_beyondTheBudget_theFundPaysItsBudgetAndTheShortsGetLess() public {
        h.setParams(IAmm.FundingParams(0.1e18, 300, 1 days));
        vm.warp(T0 + 100);
        h.trade(1e18, 4e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 8640);
        _assertFunding(h.indicesNow(1e18), 1e18, 0.2525e18, -0.01e18);
        _assertFunding(h.trade(1e18, 4e18, 1e18), 1e18, 0.2525e18, -0.01e18);
        (int256 startLong, int256 startShort) = h.startIndices();
        assertEq(startLong, int256(0), "long start index unchanged");
        assertEq(startShort, -0.7475e18, "short start index less what shorts were denied");

        vm.warp(T0 + 600 + 17280);
        _assertFunding(h.trade(1e18, 4e18, 1000e18), 2e18, 1.2525e18, -3e18);
    }

    /// @notice The mirror: -10 a day (mark 1,990) on 4 long and 1 short, 1 in the fund (budget
    /// 0.01): longs get 0.2525 each (index -0.2525), shorts pay 1 (index -1), and the long start
    /// index rises by what longs were denied: -0.2525 + 1 = 0.7475.
    function test_accrue_beyondTheBudget_theFundPaysItsBudgetAndTheLongsGetLess() public {
        h.setParams(IAmm.FundingParams(0.1e18, 300, 1 days));
        vm.warp(T0 + 100);
        h.trade(4e18, 1e18, 0);
        assertEq(_openPremium(1990e18), -10e18, "premium -10");

        vm.warp(T0 + 600 + 8640);
        _assertFunding(h.trade(4e18, 1e18, 1e18), -0.2525e18, -1e18, -0.01e18);
        (int256 startLong, int256 startShort) = h.startIndices();
        assertEq(startLong, 0.7475e18, "long start index");
        assertEq(startShort, int256(0), "short start index unchanged");
    }

    // ------------------------------------------------------------------ the AMM budget (a dynamic curve)

    /// @notice The same stretch (+10 a day for 0.1 day on 1 long and 4 short: payments 1, receipts 4
    /// in full) on a market whose curve is on, its budget 10 over a floor of 8: the budget pays the
    /// 2 it has above its floor first, the fund (1, budget 0.01) the next 0.01, and the shorts get
    /// (1 + 2 + 0.01) / 4 = 0.7525 each; their start index is rebased to 0.7525 - 1 = -0.2475. The
    /// next 0.1 day, with the budget at its floor and 1,000 in the fund (budget 10), the fund pays
    /// the whole 3 as on a static market and the shorts get their 1 in full (index 1.7525).
    function test_accrue_withTheBudget_theBudgetPaysFirstThenTheFund() public {
        h.setParams(IAmm.FundingParams(0.1e18, 300, 1 days));
        h.setBudget(true, 10e18, 8e18, 12e18);
        vm.warp(T0 + 100);
        h.trade(1e18, 4e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 8640);
        IAmm.FundingSnapshot memory view_ = h.indicesNow(1e18);
        IAmm.FundingSnapshot memory f = h.trade(1e18, 4e18, 1e18);
        _assertFunding(f, 1e18, 0.7525e18, -0.01e18);
        assertEq(f.budgetFlow, -2e18, "the budget pays what it has above its floor");
        _assertFunding(view_, 1e18, 0.7525e18, -0.01e18);
        assertEq(view_.budgetFlow, -2e18, "the view's budget share");
        assertEq(h.budget(), 8e18, "the budget at its floor");
        (, int256 startShort) = h.startIndices();
        assertEq(startShort, -0.2475e18, "short start index less what shorts were denied");

        vm.warp(T0 + 600 + 17280);
        f = h.trade(1e18, 4e18, 1000e18);
        _assertFunding(f, 2e18, 1.7525e18, -3e18);
        assertEq(f.budgetFlow, 0, "at its floor the budget pays nothing");
        assertEq(h.budget(), 8e18, "the budget stays at its floor");
    }

    /// @notice With 10 above its floor the budget pays the whole shortfall of 3 and the fund, empty,
    /// nothing: the shorts get 1 each, as paid in full. A funding update's close books it too: the
    /// next 0.1 day's shortfall (3) takes the budget from 7 to 4.
    function test_accrueAndClose_theBudgetPaysTheWholeShortfall() public {
        h.setParams(IAmm.FundingParams(0.1e18, 300, 1 days));
        h.setBudget(true, 10e18, 0, 10e18);
        vm.warp(T0 + 100);
        h.trade(1e18, 4e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 8640);
        IAmm.FundingSnapshot memory f = h.trade(1e18, 4e18, 0);
        _assertFunding(f, 1e18, 1e18, 0);
        assertEq(f.budgetFlow, -3e18, "budget share");
        assertEq(h.budget(), 7e18, "budget");

        vm.warp(T0 + 600 + 17280);
        (f, , , ) = h.update(_cp(0, 0), false, 0);
        _assertFunding(f, 2e18, 2e18, 0);
        assertEq(f.budgetFlow, -3e18, "budget share at the close");
        assertEq(h.budget(), 4e18, "budget after the close");
    }

    /// @notice The mirror of a shortfall: +10 a day for 0.1 day on 4 long and 1 short, payments 4,
    /// receipts 1, a surplus of 3. The budget, 10 with a target of 12, takes 2 and the fund 1; the
    /// next 0.1 day it is at its target and the fund takes all 3. Both sides move in full.
    function test_accrue_aSurplusRefillsTheBudgetToItsTargetThenTheFund() public {
        h.setParams(IAmm.FundingParams(0.1e18, 300, 1 days));
        h.setBudget(true, 10e18, 8e18, 12e18);
        vm.warp(T0 + 100);
        h.trade(4e18, 1e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 8640);
        IAmm.FundingSnapshot memory f = h.trade(4e18, 1e18, 0);
        _assertFunding(f, 1e18, 1e18, 1e18);
        assertEq(f.budgetFlow, 2e18, "the budget takes up to its target");
        assertEq(h.budget(), 12e18, "the budget at its target");

        vm.warp(T0 + 600 + 17280);
        f = h.trade(4e18, 1e18, 0);
        _assertFunding(f, 2e18, 2e18, 3e18);
        assertEq(f.budgetFlow, 0, "at its target the budget takes nothing");
    }

    /// @notice A static market (the curve flags 0) never touches a budget, whatever it holds: the
    /// shortfall case above gives the fund's figures of {test_accrue_beyondTheBudget_...}.
    function test_accrue_staticMarket_leavesTheBudgetAlone() public {
        h.setParams(IAmm.FundingParams(0.1e18, 300, 1 days));
        h.setBudget(false, 10e18, 0, 20e18);
        vm.warp(T0 + 100);
        h.trade(1e18, 4e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 8640);
        IAmm.FundingSnapshot memory f = h.trade(1e18, 4e18, 1e18);
        _assertFunding(f, 1e18, 0.2525e18, -0.01e18);
        assertEq(f.budgetFlow, 0, "no budget share");
        assertEq(h.budget(), 10e18, "the budget untouched");
    }

    /// @notice With no subsidy (ratio 0) the receivers get exactly what the payers pay: +10 a day for
    /// 0.1 day on 1 long and 4 short, whatever the fund holds: shorts get 1 / 4 = 0.25 each.
    function test_accrue_noSubsidy_theReceiversGetWhatThePayersPay() public {
        h.setSubsidyRatio(0);
        h.setParams(IAmm.FundingParams(0.1e18, 300, 1 days));
        vm.warp(T0 + 100);
        h.trade(1e18, 4e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 8640);
        _assertFunding(h.trade(1e18, 4e18, 1_000_000e18), 1e18, 0.25e18, 0);
    }

    /// @notice 100 long and 1 short under the clamped premium of -200 a day (mark 1,700, index 2,000,
    /// 10% of 2,000), a budget of 1% of the fund a day and 1,000,000 in it, three 3,600 s periods.
    /// A period: the short pays ceil(200 x 3,600 / 86,400) = 8.333333333333333334; the longs would
    /// get 833.33; the budget is floor(fund x 1% x 3,600 / 86,400) = floor(fund / 2,400).
    /// 1. budget 1,000,000 / 2,400 = 416.666666666666666666; payments + budget = 425 exactly, 4.25 a
    ///    long; the fund pays 425 - 8.333333333333333334 = 416.666666666666666666: its budget.
    ///    Fund: 999,583.333333333333333334.
    /// 2. budget 999,583.333333333333333334 / 2,400 = 416.493055555555555555(.56, floored);
    ///    payments + budget = 424.826388888888888889; a long gets it / 100 floored,
    ///    4.248263888888888888, 424.8263888888888888 in all; the fund pays
    ///    416.493055555555555466: the budget less the 89 wei the longs' rounding leaves.
    ///    Fund: 999,166.840277777777777868.
    /// 3. budget 999,166.840277777777777868 / 2,400 = 416.319516782407407407(.45); payments + budget
    ///    = 424.652850115740740741; a long gets 4.246528501157407407, 424.6528501157407407 in all;
    ///    the fund pays 416.319516782407407366 (budget less 41 wei).
    /// Long index: -(4.25 + 4.248263888888888888 + 4.246528501157407407) = -12.744792390046296295;
    /// short index: -3 x 8.333333333333333334 = -25.000000000000000002.
    function test_update_heavilyImbalanced_theFundPaysItsBudgetEachPeriod() public {
        h.setSubsidyRatio(0.01e18);
        vm.warp(T0 + 100);
        h.trade(100e18, 1e18, 0);
        assertEq(_openPremium(1700e18), -200e18, "premium at its clamp");

        uint256 fund = 1_000_000e18;
        int256[3] memory flows = [
            -int256(416666666666666666666),
            -int256(416493055555555555466),
            -int256(416319516782407407366)
        ];
        int256[3] memory longIndices = [-int256(4.25e18), -int256(8498263888888888888), -int256(12744792390046296295)];
        int256[3] memory shortIndices = [
            -int256(8333333333333333334),
            -int256(16666666666666666668),
            -int256(25000000000000000002)
        ];
        for (uint256 i = 0; i < 3; i++) {
            vm.warp(T0 + 600 + 3600 * (i + 1));
            (IAmm.FundingSnapshot memory f, int256 premium, , ) = h.update(
                _cp(1_110_000e18 + 3600 * 1700e18 * (i + 1), 600_000e18 + 3600 * 2000e18 * (i + 1)),
                true,
                fund
            );
            _assertFunding(f, longIndices[i], shortIndices[i], flows[i]);
            assertEq(premium, -200e18, "premium stays at its clamp");
            fund -= uint256(-f.insuranceFlow);
        }
        assertEq(fund, 998750520760995370370502, "fund after three periods");
    }

    /// @notice Over one day the fund pays at most 1% of what it held, however often funding is
    /// updated: 288 updates 300 s apart or 24 updates 3,600 s apart, on 100 long and 1 short under
    /// -200 a day. Each period's outflow is at most its budget, floor(fund x 1% x T / 86,400), and
    /// all of them together at most 1,000,000 x 1% = 10,000 (each budget is 1% x T / 1 day of a fund
    /// no larger than at the start, and the periods' T add up to a day).
    function test_update_overADay_theFundPaysAtMostTheRatioOfItsBalance() public {
        for (uint256 cadence = 300; cadence <= 3600; cadence += 3300) {
            FundingPeriodHarness day = new FundingPeriodHarness(IAmm.FundingParams(0.1e18, 300, 3600));
            day.setSubsidyRatio(0.01e18);
            uint256 start = block.timestamp;
            day.trade(100e18, 1e18, 0);
            vm.warp(start + 300);
            day.update(_cp(0, 0), true, 0);
            uint256 mark = 0;
            uint256 index = 0;
            vm.warp(start + 600);
            mark += 300 * 1700e18;
            index += 300 * 2000e18;
            (, int256 premium, , ) = day.update(_cp(mark, index), true, 0);
            assertEq(premium, -200e18, "premium at its clamp");

            uint256 fund = 1_000_000e18;
            uint256 paid = 0;
            for (uint256 t = cadence; t <= 1 days; t += cadence) {
                vm.warp(start + 600 + t);
                mark += cadence * 1700e18;
                index += cadence * 2000e18;
                (IAmm.FundingSnapshot memory f, , , ) = day.update(_cp(mark, index), true, fund);
                uint256 outflow = uint256(-f.insuranceFlow);
                assertLe(outflow, (fund * 0.01e18 * cadence) / (1e18 * 1 days), "a period's outflow within its budget");
                // The budget binds: the longs are owed ~100 x 200 x T / 1 day, far more.
                assertGe(outflow, 1, "the fund pays");
                fund -= outflow;
                paid += outflow;
            }
            assertLe(paid, 10_000e18, "a day's outflow within 1% of the fund");
            vm.warp(start + 2 days);
        }
    }

    /// @notice The ratio in force when a period opens is the one it applies: raised to 10% mid-period
    /// the current period keeps 1%, the next takes 10%. Above 10% it is refused.
    function test_setSubsidyRatio_appliesFromTheNextPeriodAndIsBounded() public {
        h.setSubsidyRatio(0.01e18);
        _openPremium(1700e18);
        h.setSubsidyRatio(0.1e18);
        (uint256 current, uint256 next) = h.subsidyRatios();
        assertEq(current, 0.01e18, "the current period keeps its ratio");
        assertEq(next, 0.1e18, "the next takes the new one");
        vm.warp(T0 + 900);
        h.update(_cp(1_110_000e18 + 300 * 1700e18, 600_000e18 + 300 * 2000e18), true, 0);
        (current, ) = h.subsidyRatios();
        assertEq(current, 0.1e18, "applied from the next period");

        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.FundingSubsidyRatioOutOfRange.selector, 0.1e18 + 1));
        h.setSubsidyRatio(0.1e18 + 1);
    }

    // ------------------------------------------------------------------ parameter changes

    /// @notice The period opened at T0 + 600 with maxAccrualPeriod 3,600 keeps accrual end
    /// T0 + 4,200 whatever the parameters become: cut to 600 s at 1,800 s in, funding still runs to
    /// 3,600 s (0.416666666666666667 / ...666 on 1 long, 1 short); raised to 7,200 s, it still stops
    /// there. The next period takes the new parameter: it ends 7,200 s after its update.
    function test_setParams_neverRewritesTheCurrentPeriod() public {
        vm.warp(T0 + 100);
        h.trade(1e18, 1e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 1800);
        h.setParams(IAmm.FundingParams(0.1e18, 300, 600));
        (, , uint256 accrualEnd) = h.period();
        assertEq(accrualEnd, T0 + 600 + 3600, "accrual end kept after a cut");
        vm.warp(T0 + 600 + 3600);
        _assertFunding(h.trade(1e18, 1e18, 0), 416666666666666667, 416666666666666666, 1);

        vm.warp(T0 + 600 + 3700);
        h.setParams(IAmm.FundingParams(0.1e18, 300, 7200));
        vm.warp(T0 + 600 + 7200);
        _assertFunding(h.trade(1e18, 1e18, 0), 416666666666666667, 416666666666666666, 0);

        // The next window, 7,200 s at mark 2,010 and index 2,000: +10 again, to T0 + 7,800 + 7,200.
        h.update(_cp(1_203_000e18 + 7200 * 2010e18, 600_000e18 + 7200 * 2000e18), true, 0);
        (int256 premium, uint256 updatedAt, uint256 nextEnd) = h.period();
        assertEq(premium, int256(10e18), "premium");
        assertEq(updatedAt, T0 + 7800, "updatedAt");
        assertEq(nextEnd, T0 + 7800 + 7200, "next period's accrual end");
    }

    /// @notice Parameters out of range are refused with the rule they break.
    function test_setParams_revertsOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.RatioTooHigh.selector, 1e18 + 1));
        h.setParams(IAmm.FundingParams(1e18 + 1, 300, 3600));
        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.InvalidFundingWindow.selector, 59));
        h.setParams(IAmm.FundingParams(0.1e18, 59, 3600));
        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.InvalidFundingWindow.selector, 1 days + 1));
        h.setParams(IAmm.FundingParams(0.1e18, 1 days + 1, 1 days + 1));
        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.InvalidAccrualPeriod.selector, 299, 300));
        h.setParams(IAmm.FundingParams(0.1e18, 300, 299));
    }

    // ------------------------------------------------------------------ stop

    /// @notice Stopping 1,800 s into +10 a day settles that stretch (0.208333333333333334 /
    /// ...333, the fund 1 wei) and leaves a zero premium: the indices never move again.
    function test_stop_settlesAndFreezesTheIndices() public {
        vm.warp(T0 + 100);
        h.trade(1e18, 1e18, 0);
        _openPremium(2010e18);

        vm.warp(T0 + 600 + 1800);
        _assertFunding(h.stop(0), 208333333333333334, 208333333333333333, 1);
        (int256 premium, uint256 updatedAt, uint256 accrualEnd) = h.period();
        assertEq(premium, int256(0), "premium");
        assertEq(updatedAt, T0 + 2400, "updatedAt");
        assertEq(accrualEnd, T0 + 2400, "accrualEnd");
        vm.warp(T0 + 600 + 5000);
        _assertFunding(h.indicesNow(0), 208333333333333334, 208333333333333333, 0);
        _assertFunding(h.trade(1e18, 1e18, 0), 208333333333333334, 208333333333333333, 0);
    }
}
