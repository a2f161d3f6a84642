// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmCurve} from "../../../contracts/interfaces/IAmmCurve.sol";
import {ProtocolInvariantBase} from "./Protocol.invariant.t.sol";

/// @notice The single-market campaign with the dynamic curve ON, set up as the parameter files deploy
/// a market (deploy/parameters/*.json): repeg at 0.5% from the index, half-spread 0.025% up to 1%,
/// vAMM leverage bound 5x over (budget + 25% of the insurance fund), formulaic k by 1% per funding
/// update within 0.95x..3x of the launch depth, budget target 0.09% of the quote reserve and floor a
/// fifth of it (the files' 10% and 2% of the cap notional at a 9x quote-reserve cap), the budget
/// seeded at its target by a funder (`contributeToBudget`). Same market, actors and weights as
/// ProtocolInvariantTest; every invariant P1..P20 runs curve-aware (SPEC.md, "The dynamic curve"),
/// and P21 checks the budget itself.
contract ProtocolInvariantDynamicCurveTest is ProtocolInvariantBase {
    /// @dev Contributes the budget's seed at set-up.
    address internal constant BUDGET_FUNDER = address(0xB0D6E7);
    uint256 internal constant BUDGET_TARGET = 900e18;
    uint256 internal constant BUDGET_FLOOR = 180e18;

    function market() internal pure override returns (uint8, uint256, uint256, uint64) {
        return (6, 1_000_000e18, 8_123_456789000000000000, 0.001e18);
    }

    function _configureCurve(uint8 decimals) internal override {
        amm.setCurveParams(
            IAmmCurve.CurveParams({
                repegThresholdRatio: 0.005e18,
                baseSpreadRatio: 0.00025e18,
                maxSpreadRatio: 0.01e18,
                maxVammLeverage: 5e18,
                fundShareRatio: 0.25e18,
                budgetFloor: BUDGET_FLOOR,
                budgetTarget: BUDGET_TARGET,
                maxDepthChangeRatio: 0.01e18,
                minDepthRatio: 0.95e18,
                maxDepthRatio: 3e18
            })
        );
        traders.seedBudget(BUDGET_FUNDER, (BUDGET_TARGET / 1e18) * 10 ** decimals);
        excludeSender(BUDGET_FUNDER);
    }

    /// @notice P21 (the AMM budget). The Amm's budget == contributions + spreads + gains collected -
    /// positive repeg / depth costs - what it paid of liquidations + its shares of the funding
    /// imbalance (BudgetFundingFlow: the receiving side's excess it paid, the paying side's surplus it
    /// took), every term summed from the Amm's events, and each of those events' budgetAfter was that
    /// sum (each call's funding share the one getFundingIndices predicted); every spread's ratio lies
    /// in [baseSpreadRatio, maxSpreadRatio] and its fee is ceil(its swap's quote x ratio); the budget
    /// never went below its floor (it starts at the target and only the floor-bounded repeg, depth
    /// change, bad-debt payment and funding subsidy take from it); the depth stays within
    /// [minDepthRatio, maxDepthRatio] of launch.
    function invariant_P21_budget() public view {
        IAmmCurve.CurveState memory c = amm.getCurveState();
        assertEq(
            c.budget,
            traders.expectedBudget(),
            "P21: budget != credited + spreads + gains - costs - spent + funding"
        );
        assertEq(traders.budgetEventMismatches(), 0, "P21: an event's budgetAfter != the ledger's budget");
        assertEq(traders.spreadMismatches(), 0, "P21: a spread outside its bounds or != ceil(quote x ratio)");
        assertGe(c.budget, BUDGET_FLOOR, "P21: budget below its floor");
        assertGe(c.depth, 0.95e18, "P21: depth below its minimum");
        assertLe(c.depth, 3e18, "P21: depth above its maximum");
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(c.netPosition, int256(oiLong) - int256(oiShort), "P21: net position != long - short open interest");
    }
}
