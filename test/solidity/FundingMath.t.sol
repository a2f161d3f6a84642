// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FundingHarness} from "../../contracts/test/FundingHarness.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice The Funding library against references written out here with plain uint256 arithmetic on
/// bounded inputs (every product fits in 256 bits, so no mulDiv is needed): the per-unit growth of
/// each side, the insurance fund's subsidy budget, the split of a stretch between the sides, the
/// market's AMM budget (on a dynamic curve) and the fund, and a position's settlement. Inputs are bounded by what the Amm can produce: a premium below 2^88 (the index fits
/// 88 bits and the clamp is at most 100%), elapsed time below 2^24 (maxAccrualPeriod is a uint24),
/// open interest below 2^104.
contract FundingMathTest is TestBase {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant DAY = 86_400;

    FundingHarness internal h;

    function setUp() public {
        h = new FundingHarness();
    }

    // ------------------------------------------------------------------ references

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    /// @dev A premium of magnitude 1..2^88, positive or negative.
    function _premium(uint256 seed, bool positive) internal pure returns (int256) {
        int256 m = int256(boundLog(seed, 1, 2 ** 88));
        return positive ? m : -m;
    }

    /// @dev Per-unit growth of each side over a stretch [e1, e2] of a period, from the references,
    /// and the stretch's length.
    function _stretch(
        int256 premium,
        uint256 e1Seed,
        uint256 e2Seed
    ) internal pure returns (uint256 paid, uint256 received, uint256 elapsed) {
        uint256 m = uint256(premium > 0 ? premium : -premium);
        uint256 e2 = bound(e2Seed, 0, 2 ** 24 - 1);
        uint256 e1 = bound(e1Seed, 0, e2);
        paid = _ceilDiv(m * e2, DAY) - _ceilDiv(m * e1, DAY);
        received = (m * e2) / DAY - (m * e1) / DAY;
        elapsed = e2 - e1;
    }

    /// @dev The fund's budget for a stretch: min(floor(fund x ratio x elapsed / (1e18 x 1 day)), fund).
    function _budget(uint256 fund, uint256 ratio, uint256 elapsed) internal pure returns (uint256) {
        uint256 full = (fund * ratio * elapsed) / (WAD * DAY);
        return full < fund ? full : fund;
    }

    // ------------------------------------------------------------------ growth

    /// @notice paid = ceil(|premium| x elapsed / 1 day), received = floor(...): they differ by at most
    /// one wei, and only when the division is not exact; both are non-decreasing in time.
    function testFuzz_growthRoundsThePayerUpAndTheReceiverDown(
        uint256 pSeed,
        bool positive,
        uint256 eSeed
    ) public view {
        int256 premium = _premium(pSeed, positive);
        uint256 elapsed = bound(eSeed, 0, 2 ** 24 - 2);
        uint256 m = uint256(premium > 0 ? premium : -premium);
        (uint256 paid, uint256 received) = h.growth(premium, elapsed);
        assertEq(paid, _ceilDiv(m * elapsed, DAY), "paid");
        assertEq(received, (m * elapsed) / DAY, "received");
        assertEq(paid - received, (m * elapsed) % DAY == 0 ? 0 : 1, "paid - received");
        (uint256 paidNext, uint256 receivedNext) = h.growth(premium, elapsed + 1);
        assertGe(paidNext, paid, "paid grows");
        assertGe(receivedNext, received, "received grows");
    }

    // ------------------------------------------------------------------ subsidy budget

    /// @notice Worked by hand: 1% a day of 1,000,000 over an hour is 1,000,000 / 2,400 =
    /// 416.666666666666666666 (floored); 10% a day of 100 over 20 days would be 200, capped at the
    /// 100 the fund holds; no ratio, no time or no fund: nothing.
    function test_subsidyBudget_workedExamples() public view {
        assertEq(h.subsidyBudget(1_000_000e18, 0.01e18, 3600), 416666666666666666666, "1% a day, one hour");
        assertEq(h.subsidyBudget(100e18, 0.1e18, 20 days), 100e18, "capped at the fund");
        assertEq(h.subsidyBudget(1_000_000e18, 0, 3600), 0, "no subsidy");
        assertEq(h.subsidyBudget(1_000_000e18, 0.01e18, 0), 0, "no time");
        assertEq(h.subsidyBudget(0, 0.01e18, 3600), 0, "no fund");
    }

    /// @notice budget = min(floor(fund x ratio x elapsed / (1e18 x 1 day)), fund), and below the cap
    /// two stretches never draw more than the whole of them: splitting a stretch (more frequent
    /// trades or updates) cannot raise the budget.
    function testFuzz_subsidyBudgetIsTheRatioProRataAndNeverMoreThanTheFund(
        uint256 fundSeed,
        uint256 ratioSeed,
        uint256 e1Seed,
        uint256 e2Seed
    ) public view {
        uint256 fund = boundLog(fundSeed, 1, 2 ** 128 - 1);
        uint256 ratio = bound(ratioSeed, 0, 0.1e18);
        uint256 e2 = bound(e2Seed, 0, 2 ** 24 - 1);
        uint256 e1 = bound(e1Seed, 0, e2);
        uint256 full = (fund * ratio * e2) / (WAD * DAY);
        uint256 expected = _budget(fund, ratio, e2);
        assertEq(h.subsidyBudget(fund, ratio, e2), expected, "budget");
        // Below the cap (reached only by a stretch longer than 10 days at 10%), the parts rounded
        // down never add up to more than the whole rounded down.
        if (full < fund) {
            uint256 parts = h.subsidyBudget(fund, ratio, e1) + h.subsidyBudget(fund, ratio, e2 - e1);
            assertLe(parts, expected, "split stretches");
        }
    }

    // ------------------------------------------------------------------ split

    struct SplitCase {
        bool positive;
        int256 premium;
        uint256 P;
        uint256 R;
        uint256 longSize;
        uint256 shortSize;
        uint256 fund;
        uint256 ratio;
        uint256 elapsed;
        uint256 budget;
    }

    /// @notice The paying side's index moves by its full growth; the receiving side's by its full
    /// growth when payments plus the fund's budget cover the receipts, and otherwise by the largest
    /// per-unit amount they cover; the fund's share is payments - receipts and never below -budget.
    function testFuzz_splitPaysTheReceiversAllTheBudgetCanCover(
        uint256 pSeed,
        bool positive,
        uint256 e1Seed,
        uint256 e2Seed,
        uint256 longSeed,
        uint256 shortSeed,
        uint256 fundSeed,
        uint256 ratioSeed
    ) public view {
        SplitCase memory c;
        c.positive = positive;
        c.premium = _premium(pSeed, positive);
        (c.P, c.R, c.elapsed) = _stretch(c.premium, e1Seed, e2Seed);
        c.longSize = longSeed % 5 == 0 ? 0 : boundLog(longSeed, 1, 2 ** 104 - 1);
        c.shortSize = shortSeed % 5 == 0 ? 0 : boundLog(shortSeed, 1, 2 ** 104 - 1);
        c.fund = fundSeed % 4 == 0 ? 0 : boundLog(fundSeed, 1, 2 ** 128 - 1);
        c.ratio = ratioSeed % 4 == 0 ? 0 : bound(ratioSeed, 1, 0.1e18);
        c.budget = _budget(c.fund, c.ratio, c.elapsed);
        _checkSplit(c);
    }

    function _checkSplit(SplitCase memory c) internal view {
        (int256 longDelta, int256 shortDelta, int256 flow) = h.split(
            c.premium,
            c.longSize,
            c.shortSize,
            c.P,
            c.R,
            c.fund,
            c.ratio,
            c.elapsed
        );
        (uint256 payer, uint256 receiver) = c.positive ? (c.longSize, c.shortSize) : (c.shortSize, c.longSize);
        uint256 payments = (payer * c.P) / WAD;
        assertEq(uint256(c.positive ? longDelta : -shortDelta), c.P, "the paying side grows in full");
        uint256 receivedDelta = uint256(c.positive ? shortDelta : -longDelta);
        if (_ceilDiv(receiver * c.R, WAD) <= payments + c.budget) {
            assertEq(receivedDelta, c.R, "the receiving side grows in full");
            assertEq(flow, int256(payments) - int256(_ceilDiv(receiver * c.R, WAD)), "flow");
        } else {
            uint256 receipts = _ceilDiv(receiver * receivedDelta, WAD);
            assertLt(receivedDelta, c.R, "reduced");
            assertLe(receipts, payments + c.budget, "affordable");
            assertLt(payments + c.budget, _ceilDiv(receiver * (receivedDelta + 1), WAD), "one more wei is not");
            assertEq(flow, int256(payments) - int256(receipts), "flow when reduced");
        }
        assertGe(flow, -int256(c.budget), "the fund never pays more than its budget");
    }

    // ------------------------------------------------------------------ split with the AMM budget

    /// @notice By hand, longs paying 1 a unit (premium > 0) on 100 base, shorts receiving 1 a unit on
    /// 300: payments 100, receipts 300, a shortfall of 200. A budget 500 above its floor pays all of
    /// it and the fund nothing; 150 above it pays 150 and the fund, with 1,000,000 at 1% a day for an
    /// hour (a budget of 416.666666666666666666), the other 50; the shorts are paid in full.
    function test_splitWithBudget_theBudgetPaysAShortfallFirst() public view {
        (int256 longDelta, int256 shortDelta, int256 fundFlow, int256 budgetFlow) = h.splitWithBudget(
            1e18,
            100e18,
            300e18,
            1e18,
            1e18,
            1_000_000e18,
            0.01e18 * 3600,
            500e18,
            0
        );
        assertEq(longDelta, 1e18, "longs pay in full");
        assertEq(shortDelta, 1e18, "shorts receive in full");
        assertEq(budgetFlow, -200e18, "the budget pays the whole shortfall");
        assertEq(fundFlow, 0, "the fund pays nothing");
        (, shortDelta, fundFlow, budgetFlow) = h.splitWithBudget(
            1e18,
            100e18,
            300e18,
            1e18,
            1e18,
            1_000_000e18,
            0.01e18 * 3600,
            150e18,
            0
        );
        assertEq(shortDelta, 1e18, "shorts still receive in full");
        assertEq(budgetFlow, -150e18, "the budget pays all it has above its floor");
        assertEq(fundFlow, -50e18, "the fund the rest");
    }

    /// @notice By hand, beyond both: the budget has 150 above its floor and the fund 100,000 at 1% a
    /// day for an hour (41.666666666666666666). The shorts on 300 base get (100 + 150 +
    /// 41.666666666666666666) / 300 = 0.972222222222222222 a unit (floored), receipts 300 x that =
    /// 291.6666666666666666; the budget pays its 150, the fund 41.6666666666666666 (under its budget
    /// by the shorts' rounding).
    function test_splitWithBudget_beyondTheBudgetAndTheFundTheReceiversGetLess() public view {
        (int256 longDelta, int256 shortDelta, int256 fundFlow, int256 budgetFlow) = h.splitWithBudget(
            1e18,
            100e18,
            300e18,
            1e18,
            1e18,
            100_000e18,
            0.01e18 * 3600,
            150e18,
            0
        );
        assertEq(longDelta, 1e18, "longs pay in full");
        assertEq(shortDelta, 972222222222222222, "shorts get payments + budget + fund budget, floored");
        assertEq(budgetFlow, -150e18, "the budget pays all it has above its floor");
        assertEq(fundFlow, -41666666666666666600, "the fund its budget less the rounding");
    }

    /// @notice By hand, premium < 0 (shorts pay 1 a unit on 300 base, longs receive on 100): a
    /// surplus of 200. A budget 120 below its target takes 120 and the fund 80; 500 below it takes all
    /// 200. The shorts' index falls by 1 and the longs' by 1.
    function test_splitWithBudget_aSurplusRefillsTheBudgetToItsTargetThenTheFund() public view {
        (int256 longDelta, int256 shortDelta, int256 fundFlow, int256 budgetFlow) = h.splitWithBudget(
            -1e18,
            100e18,
            300e18,
            1e18,
            1e18,
            1_000_000e18,
            0.01e18 * 3600,
            0,
            120e18
        );
        assertEq(longDelta, -1e18, "longs receive in full");
        assertEq(shortDelta, -1e18, "shorts pay in full");
        assertEq(budgetFlow, 120e18, "the budget takes its room");
        assertEq(fundFlow, 80e18, "the fund the rest");
        (, , fundFlow, budgetFlow) = h.splitWithBudget(-1e18, 100e18, 300e18, 1e18, 1e18, 1_000_000e18, 0, 0, 500e18);
        assertEq(budgetFlow, 200e18, "the budget takes the whole surplus");
        assertEq(fundFlow, 0, "the fund nothing");
    }

    /// @notice With the budget on but nothing to give or take (at its floor and its target), the
    /// split is the static one to the wei: the fund pays and takes as before.
    function testFuzz_splitWithAnEmptyBudgetIsTheStaticSplit(
        uint256 pSeed,
        bool positive,
        uint256 e1Seed,
        uint256 e2Seed,
        uint256 longSeed,
        uint256 shortSeed,
        uint256 fundSeed
    ) public view {
        BudgetCase memory c;
        c.premium = _premium(pSeed, positive);
        uint256 elapsed;
        (c.P, c.R, elapsed) = _stretch(c.premium, e1Seed, e2Seed);
        c.longSize = boundLog(longSeed, 1, 2 ** 104 - 1);
        c.shortSize = boundLog(shortSeed, 1, 2 ** 104 - 1);
        c.fund = boundLog(fundSeed, 1, 2 ** 128 - 1);
        int256[3] memory before;
        (before[0], before[1], before[2]) = h.split(
            c.premium,
            c.longSize,
            c.shortSize,
            c.P,
            c.R,
            c.fund,
            0.01e18,
            elapsed
        );
        (int256 l1, int256 s1, int256 f1, int256 b1) = h.splitWithBudget(
            c.premium,
            c.longSize,
            c.shortSize,
            c.P,
            c.R,
            c.fund,
            0.01e18 * elapsed,
            0,
            0
        );
        assertEq(l1, before[0], "long index");
        assertEq(s1, before[1], "short index");
        assertEq(f1, before[2], "the fund's share");
        assertEq(b1, 0, "no budget share");
    }

    struct BudgetCase {
        int256 premium;
        uint256 P;
        uint256 R;
        uint256 longSize;
        uint256 shortSize;
        uint256 fund;
        uint256 fundBudget;
        uint256 available;
        uint256 room;
    }

    /// @notice The budget's split against the rule, written out here: the paying side grows in full;
    /// a shortfall is paid by the budget (min(shortfall, `available`), whatever the fund holds)
    /// before the fund (at most its budget), the receiving side growing in full when payments + both
    /// cover it and by the largest per-unit amount they cover otherwise; a surplus goes to the budget
    /// (at most `room`) before the fund. Nothing is lost: the two shares add up to payments - receipts.
    function testFuzz_splitWithBudgetPaysFirstAndTakesUpToItsTarget(
        uint256 pSeed,
        bool positive,
        uint256 e2Seed,
        uint256 longSeed,
        uint256 shortSeed,
        uint256 fundSeed,
        uint256 availableSeed,
        uint256 roomSeed
    ) public view {
        BudgetCase memory c;
        c.premium = _premium(pSeed, positive);
        uint256 elapsed;
        (c.P, c.R, elapsed) = _stretch(c.premium, 0, e2Seed);
        c.longSize = longSeed % 5 == 0 ? 0 : boundLog(longSeed, 1, 2 ** 104 - 1);
        c.shortSize = shortSeed % 5 == 0 ? 0 : boundLog(shortSeed, 1, 2 ** 104 - 1);
        c.fund = fundSeed % 4 == 0 ? 0 : boundLog(fundSeed, 1, 2 ** 128 - 1);
        c.fundBudget = _budget(c.fund, 0.01e18, elapsed);
        c.available = availableSeed % 4 == 0 ? 0 : boundLog(availableSeed, 1, 2 ** 127);
        c.room = roomSeed % 4 == 0 ? 0 : boundLog(roomSeed, 1, 2 ** 127);
        _checkBudgetSplit(c, elapsed);
    }

    /// @dev The split's results and the rule's reference figures for one {BudgetCase}.
    struct BudgetOutcome {
        int256 fundFlow;
        int256 budgetFlow;
        uint256 payments;
        uint256 fullReceipts;
        uint256 receivedDelta;
        uint256 receipts;
    }

    function _checkBudgetSplit(BudgetCase memory c, uint256 elapsed) internal view {
        BudgetOutcome memory o;
        int256 longDelta;
        int256 shortDelta;
        (longDelta, shortDelta, o.fundFlow, o.budgetFlow) = h.splitWithBudget(
            c.premium,
            c.longSize,
            c.shortSize,
            c.P,
            c.R,
            c.fund,
            0.01e18 * elapsed,
            c.available,
            c.room
        );
        bool positive = c.premium > 0;
        (uint256 payer, uint256 receiver) = positive ? (c.longSize, c.shortSize) : (c.shortSize, c.longSize);
        o.payments = (payer * c.P) / WAD;
        o.fullReceipts = _ceilDiv(receiver * c.R, WAD);
        assertEq(uint256(positive ? longDelta : -shortDelta), c.P, "the paying side grows in full");
        o.receivedDelta = uint256(positive ? shortDelta : -longDelta);
        o.receipts = _ceilDiv(receiver * o.receivedDelta, WAD);
        assertEq(o.fundFlow + o.budgetFlow, int256(o.payments) - int256(o.receipts), "the shares add up");
        if (o.fullReceipts > o.payments) {
            uint256 fromBudget = o.fullReceipts - o.payments < c.available ? o.fullReceipts - o.payments : c.available;
            uint256 cover = o.payments + fromBudget + c.fundBudget;
            if (o.fullReceipts <= cover) {
                assertEq(o.receivedDelta, c.R, "the receiving side grows in full");
            } else {
                assertLt(o.receivedDelta, c.R, "reduced");
                assertLe(o.receipts, cover, "affordable");
                assertLt(cover, _ceilDiv(receiver * (o.receivedDelta + 1), WAD), "one more wei is not");
            }
            assertEq(o.budgetFlow, -int256(fromBudget), "the budget pays first, up to what it has");
            assertGe(o.fundFlow, -int256(c.fundBudget), "the fund within its budget");
        } else {
            assertEq(o.receivedDelta, c.R, "the receiving side grows in full");
            uint256 surplus = o.payments - o.fullReceipts;
            uint256 toBudget = surplus < c.room ? surplus : c.room;
            assertEq(o.budgetFlow, int256(toBudget), "the budget takes first, up to its room");
            assertEq(o.fundFlow, int256(surplus - toBudget), "the fund the rest");
        }
        assertEq(
            h.imbalance(c.premium, c.longSize, c.shortSize, c.P, c.R),
            int256(o.payments) - int256(o.fullReceipts),
            "imbalance"
        );
    }

    // ------------------------------------------------------------------ owed

    /// @notice A position pays ceil(|size| x |delta|) when its side's index moved against it (a long's
    /// up, a short's down) and receives floor(...) otherwise.
    function testFuzz_owedRoundsPaymentsUpAndReceiptsDown(
        uint256 sizeSeed,
        bool isLong,
        uint256 dSeed,
        bool up
    ) public view {
        uint256 s = sizeSeed % 7 == 0 ? 0 : boundLog(sizeSeed, 1, 2 ** 126);
        uint256 d = dSeed % 7 == 0 ? 0 : boundLog(dSeed, 1, 2 ** 126);
        int256 size = isLong ? int256(s) : -int256(s);
        int256 delta = up ? int256(d) : -int256(d);
        int256 result = h.owed(size, delta);
        if (s == 0 || d == 0) {
            assertEq(result, int256(0), "nothing moves");
            return;
        }
        bool pays = isLong == up;
        int256 expected = pays ? int256(_ceilDiv(s * d, WAD)) : -int256((s * d) / WAD);
        assertEq(result, expected, "owed");
    }

    /// @notice Over one stretch, two payers and two receivers settle at least what the split moved:
    /// their payments less their receipts exceed the fund's share by the rounding dust, 0 to 5 wei.
    function testFuzz_positionsSettleAtLeastWhatTheSplitMoved(
        uint256 pSeed,
        bool positive,
        uint256 e2Seed,
        uint256[4] memory sizeSeeds,
        uint256 fundSeed
    ) public view {
        int256 premium = _premium(pSeed, positive);
        (uint256 P, uint256 R, ) = _stretch(premium, 0, e2Seed);
        uint256[4] memory sizes;
        for (uint256 i; i < 4; ++i) sizes[i] = boundLog(sizeSeeds[i], 1, 2 ** 100);
        uint256 fund = fundSeed % 3 == 0 ? 0 : boundLog(fundSeed, 1, 2 ** 120);
        // sizes[0..1] long, sizes[2..3] short.
        uint256 longs = sizes[0] + sizes[1];
        uint256 shorts = sizes[2] + sizes[3];
        (int256 longDelta, int256 shortDelta, int256 flow) = h.split(
            premium,
            longs,
            shorts,
            P,
            R,
            fund,
            // 10% a day over 10 days: the budget is the whole fund, whatever the stretch.
            0.1e18,
            10 days
        );
        int256 settled =
            h.owed(int256(sizes[0]), longDelta) +
                h.owed(int256(sizes[1]), longDelta) +
                h.owed(-int256(sizes[2]), shortDelta) +
                h.owed(-int256(sizes[3]), shortDelta);
        int256 dust = settled - flow;
        assertGe(dust, int256(0), "the protocol keeps the rounding");
        assertLe(dust, int256(5), "and no more than the rounding");
    }
}
