// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LiquidationMath} from "../../contracts/libraries/LiquidationMath.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice How a liquidation's bad debt is split between the market and the insurance fund when the
/// execution is worse than the fair price (issue 13: "a liquidation cannot cost the fund more than
/// the position's loss at a fair price"). Every expected figure is worked out by hand in the comments.
contract LiquidationSplitTest is TestBase {
    function _split(
        int256 equity,
        int256 fair,
        uint256 penalty,
        uint256 fund
    ) internal pure returns (LiquidationMath.Split memory) {
        return LiquidationMath.split(equity, fair, penalty, fund, 0);
    }

    function _assertSplit(
        LiquidationMath.Split memory s,
        uint256[7] memory expected // reward, penalty, badDebt, charged, covered, shortfall, payout
    ) internal pure {
        assertEq(s.reward, expected[0], "reward");
        assertEq(s.insurancePenalty, expected[1], "insurance penalty");
        assertEq(s.badDebt, expected[2], "bad debt");
        assertEq(s.chargedToMarket, expected[3], "charged to the market");
        assertEq(s.covered, expected[4], "covered by the fund");
        assertEq(s.shortfall, expected[5], "shortfall");
        assertEq(s.traderPayout, expected[6], "trader payout");
    }

    /// Bad debt 100 at execution, 40 at the fair price: the fund covers 40 and pays the
    /// liquidator's half (10 / 2 = 5); the other 60 is the market's.
    function test_fundCoversOnlyTheBadDebtAtTheFairPrice() public pure {
        _assertSplit(_split(-100e18, -40e18, 10e18, 1_000e18), [uint256(5e18), 0, 100e18, 60e18, 40e18, 0, 0]);
    }

    /// A pushed spot: the fair price shows equity (+20), so the fund pays nothing, not even the
    /// reward; all 100 of bad debt is the market's.
    function test_noFairBadDebtCostsTheFundNothing() public pure {
        _assertSplit(_split(-100e18, 20e18, 10e18, 1_000e18), [uint256(0), 0, 100e18, 100e18, 0, 0, 0]);
    }

    /// Execution better than the fair price (fair bad debt 150 > 100): the fund owes at most the
    /// bad debt itself; holding 30 it covers 30, 70 is a shortfall and no reward is left.
    function test_fairBadDebtIsCappedAtTheBadDebtAndTheFund() public pure {
        _assertSplit(_split(-100e18, -150e18, 10e18, 30e18), [uint256(0), 0, 100e18, 0, 30e18, 70e18, 0]);
    }

    /// Execution at the fair price: the fund covers it all (100) and the reward (5).
    function test_fairExecutionIsCoveredInFull() public pure {
        _assertSplit(_split(-100e18, -100e18, 10e18, 1_000e18), [uint256(5e18), 0, 100e18, 0, 100e18, 0, 0]);
    }

    /// No bad debt: the fair price plays no part; 50 left pays the penalty 10 (5 + 5), 40 back.
    function test_positiveEquityIsUnchanged() public pure {
        _assertSplit(_split(50e18, -1e18, 10e18, 0), [uint256(5e18), 5e18, 0, 0, 0, 0, 40e18]);
    }

    /// The market's AMM budget pays the fair bad debt first. Bad debt 100, 40 of it at the fair
    /// price, the budget spent all 40 (it had no more above its floor): the fund covers nothing but
    /// pays the reward (5); the other 60 is the market's, as without a budget.
    function test_budgetCoversTheFairBadDebtFirst() public pure {
        LiquidationMath.Split memory s = LiquidationMath.split(-100e18, -40e18, 10e18, 1_000e18, 40e18);
        _assertSplit(s, [uint256(5e18), 0, 100e18, 60e18, 0, 0, 0]);
        assertEq(s.fromBudget, 40e18, "from the budget");
        assertEq(s.rewardFromBudget, 0, "no reward from the budget");
    }

    /// Then the reward: the budget spent 45 of the 40 + 5 asked, so it paid the whole reward and
    /// the fund pays nothing; spending 42 it paid 2 of the reward and the fund the other 3.
    function test_budgetPaysTheRewardAfterTheFairBadDebt() public pure {
        LiquidationMath.Split memory s = LiquidationMath.split(-100e18, -40e18, 10e18, 1_000e18, 45e18);
        _assertSplit(s, [uint256(5e18), 0, 100e18, 60e18, 0, 0, 0]);
        assertEq(s.rewardFromBudget, 5e18, "the whole reward from the budget");
        s = LiquidationMath.split(-100e18, -40e18, 10e18, 1_000e18, 42e18);
        _assertSplit(s, [uint256(5e18), 0, 100e18, 60e18, 0, 0, 0]);
        assertEq(s.rewardFromBudget, 2e18, "2 of the reward from the budget");
        // An empty fund: the reward is what the budget paid of it (2), no more.
        s = LiquidationMath.split(-100e18, -40e18, 10e18, 0, 42e18);
        _assertSplit(s, [uint256(2e18), 0, 100e18, 60e18, 0, 0, 0]);
        // No fair bad debt: no reward at all, and the module asks the budget for nothing.
        s = LiquidationMath.split(-100e18, 20e18, 10e18, 1_000e18, 0);
        _assertSplit(s, [uint256(0), 0, 100e18, 100e18, 0, 0, 0]);
        assertEq(s.rewardFromBudget, 0, "nothing from the budget");
    }

    /// The budget spent 25 of a fair bad debt of 100; the fund (holding 50) covers 50, 25 is a
    /// shortfall and no reward is left (50 - 50 = 0).
    function test_budgetThenFundThenShortfall() public pure {
        LiquidationMath.Split memory s = LiquidationMath.split(-100e18, -100e18, 10e18, 50e18, 25e18);
        _assertSplit(s, [uint256(0), 0, 100e18, 0, 50e18, 25e18, 0]);
        assertEq(s.fromBudget, 25e18, "from the budget");
        // holding 80 instead: covers 75, reward min(5, 80 - 75) = 5
        s = LiquidationMath.split(-100e18, -100e18, 10e18, 80e18, 25e18);
        _assertSplit(s, [uint256(5e18), 0, 100e18, 0, 75e18, 0, 0]);
    }

    function test_fairBadDebt() public pure {
        assertEq(LiquidationMath.fairBadDebt(-100e18, -40e18), 40e18, "within the fair price");
        assertEq(LiquidationMath.fairBadDebt(-100e18, -150e18), 100e18, "capped at the bad debt");
        assertEq(LiquidationMath.fairBadDebt(-100e18, 20e18), 0, "none at the fair price");
        assertEq(LiquidationMath.fairBadDebt(50e18, -1e18), 0, "no bad debt");
    }

    function test_fairPriceIsTheIndexUnlessTheSpotIsBetterForThePosition() public pure {
        // long: spot 95, TWAP 100, index 98 -> the index (98); spot 99 -> the spot (99)
        assertEq(LiquidationMath.fairPrice(true, 95e18, 100e18, 98e18), 98e18, "long, spot pushed down");
        assertEq(LiquidationMath.fairPrice(true, 99e18, 100e18, 98e18), 99e18, "long, spot above the index");
        // short: spot 99, index 98 -> 98; spot 95 -> 95
        assertEq(LiquidationMath.fairPrice(false, 99e18, 90e18, 98e18), 98e18, "short, spot pushed up");
        assertEq(LiquidationMath.fairPrice(false, 95e18, 90e18, 98e18), 95e18, "short, spot below the index");
        // no index: the mark TWAP instead
        assertEq(LiquidationMath.fairPrice(true, 95e18, 100e18, 0), 100e18, "long, no index");
        assertEq(LiquidationMath.fairPrice(false, 105e18, 100e18, 0), 100e18, "short, no index");
    }

    function test_fairEquityAddsWhatTheExecutionLost() public pure {
        // a long sold for 900 that was worth 960 at the fair price: -100 + 60 = -40
        assertEq(LiquidationMath.fairEquity(true, -100e18, 900e18, 960e18), -40e18, "long");
        // a short bought back for 1,060 that cost 1,000 at the fair price: -100 + 60 = -40
        assertEq(LiquidationMath.fairEquity(false, -100e18, 1_060e18, 1_000e18), -40e18, "short");
    }
}
