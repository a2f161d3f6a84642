// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Amm} from "../../contracts/Amm.sol";
import {IAmm, Side} from "../../contracts/interfaces/IAmm.sol";
import {IAmmCurve} from "../../contracts/interfaces/IAmmCurve.sol";
import {IPriceFeed} from "../../contracts/interfaces/IPriceFeed.sol";
import {Artifacts} from "./utils/Artifacts.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice A trade that repegs first: the ClearingHouse's valuation before the swap
/// (`repegAndGetReserves`) accrues funding to now and repegs; the swap then reports that accrual's
/// snapshot instead of accruing again over its empty stretch. The swap's snapshot must be exactly
/// what the accrual over the empty stretch returned (the same indices, no flow of its own) plus the
/// valuation's fund share, and the budget's share booked once.
/// The Amm's ClearingHouse and its price feed are this test contract: both calls run in one
/// transaction, as the ClearingHouse makes them.
contract AmmValuationFundingTest is TestBase {
    uint256 internal constant INSURANCE = 1_000_000e18;
    Amm internal amm;
    uint256 internal indexPrice;

    /// @dev The price feed the Amm reads ({IPriceFeed-tryGetPrice}).
    function tryGetPrice(bytes32) external view returns (bool, uint256) {
        return (indexPrice != 0, indexPrice);
    }

    /// @dev Quote 1,000,000, base 10,000 (price 100). Longs of 50,000 and shorts of 10,000 notional
    /// traded before any index is recorded (no repeg); then the index at 100 and two funding updates:
    /// the second sets a premium the longs pay (the window's mark TWAP above the index) and repegs
    /// the curve to the index. Repeg threshold 0.5%, budget target 1 (a surplus pays the budget 1,
    /// the fund the rest).
    function setUp() public {
        amm = new Amm(
            address(this),
            1_000_000e18,
            10_000e18,
            IAmm.Limits(0, 0, 0),
            address(this),
            address(Artifacts.curveModule())
        );
        amm.setCurveParams(IAmmCurve.CurveParams(0.005e18, 0, 0, 0, 0, 0, 1e18, 0, 1e18, 1e18));
        amm.setOracle(IPriceFeed(address(this)), "ETH");
        amm.swapQuote(Side.LONG, 50_000e18, 0, INSURANCE);
        amm.swapQuote(Side.SHORT, 10_000e18, 0, INSURANCE);
        indexPrice = 100e18;
        amm.pokeIndex();
        vm.warp(block.timestamp + 300);
        amm.updateFunding(INSURANCE, false);
        vm.warp(block.timestamp + 300);
        (, int256 premium, , ) = amm.updateFunding(INSURANCE, false);
        assertTrue(premium > 0, "the longs pay");
        // Ten minutes of that premium pending; the index then falls 10%, beyond the threshold.
        vm.warp(block.timestamp + 600);
        indexPrice = 90e18;
        amm.pokeIndex();
    }

    function test_aSwapAfterTheValuationsRepegReportsThatAccrual() public {
        IAmm.FundingSnapshot memory pending = amm.getFundingIndices(INSURANCE);
        assertTrue(pending.insuranceFlow > 0, "the fund's share of the longs' surplus");
        assertEq(pending.budgetFlow, 1e18, "the budget's share: up to its target");
        uint256 budgetBefore = amm.getCurveState().budget;

        (uint256 quoteReserve, uint256 baseReserve) = amm.repegAndGetReserves(INSURANCE);
        assertEq(quoteReserve, (baseReserve * 90e18) / 1e18, "repegged to the index");
        // What an accrual now, over the empty stretch, returns: the same indices, no flow.
        IAmm.FundingSnapshot memory empty = amm.getFundingIndices(INSURANCE);
        assertEq(empty.longIndex, pending.longIndex, "long index after the valuation");
        assertEq(empty.shortIndex, pending.shortIndex, "short index after the valuation");
        assertEq(empty.insuranceFlow, 0, "no fund flow left");
        assertEq(empty.budgetFlow, 0, "no budget flow left");
        // The repeg lowers the net long's value: a gain, it costs the budget nothing.
        assertEq(amm.getCurveState().budget, budgetBefore + 1e18, "the budget's share booked by the valuation");

        (, IAmm.FundingSnapshot memory funding, , uint256 curveCost, ) = amm.swapQuote(
            Side.SHORT,
            1_000e18,
            0,
            INSURANCE
        );
        assertEq(funding.longIndex, pending.longIndex, "the swap's long index");
        assertEq(funding.shortIndex, pending.shortIndex, "the swap's short index");
        assertEq(funding.insuranceFlow, pending.insuranceFlow, "the swap reports the valuation's fund share");
        assertEq(funding.budgetFlow, 0, "booked by the valuation, not reported again");
        assertEq(curveCost, 0, "the repeg was free");
        assertEq(amm.getCurveState().budget, budgetBefore + 1e18, "the budget's share booked once");

        // A second swap in the same transaction (a reversal's opening leg) accrues the empty
        // stretch itself: the valuation's snapshot was used once.
        (, IAmm.FundingSnapshot memory second, , , ) = amm.swapQuote(Side.LONG, 100e18, 0, INSURANCE);
        assertEq(second.longIndex, pending.longIndex, "second swap: long index");
        assertEq(second.shortIndex, pending.shortIndex, "second swap: short index");
        assertEq(second.insuranceFlow, 0, "second swap: no fund flow");
        assertEq(second.budgetFlow, 0, "second swap: no budget flow");
    }

    /// @notice Without a repeg due, the valuation accrues nothing: the swap accrues its own stretch.
    function test_aSwapAfterAValuationWithoutRepegAccruesItself() public {
        indexPrice = 0;
        vm.warp(block.timestamp + 3_601); // the recorded index is no longer fresh: no repeg
        IAmm.FundingSnapshot memory pending = amm.getFundingIndices(INSURANCE);
        amm.repegAndGetReserves(INSURANCE);
        (, IAmm.FundingSnapshot memory funding, , , ) = amm.swapQuote(Side.SHORT, 1_000e18, 0, INSURANCE);
        assertEq(funding.longIndex, pending.longIndex, "long index");
        assertEq(funding.shortIndex, pending.shortIndex, "short index");
        assertEq(funding.insuranceFlow, pending.insuranceFlow, "fund flow");
        assertEq(funding.budgetFlow, pending.budgetFlow, "budget flow");
        assertTrue(funding.insuranceFlow > 0, "a stretch with a surplus");
    }
}
