// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Funding} from "../libraries/Funding.sol";

/// @notice Exposes the Funding library's pure functions, so tests can call them with any input.
contract FundingHarness {
    function growth(int256 premium, uint256 elapsed) external pure returns (uint256 paid, uint256 received) {
        return Funding.growth(premium, elapsed);
    }

    function split(
        int256 premium,
        uint256 longSize,
        uint256 shortSize,
        uint256 paidPerUnit,
        uint256 receivedPerUnit,
        uint256 insuranceAvailable,
        uint256 maxSubsidyRatio,
        uint256 elapsed
    ) external pure returns (int256 longIndexDelta, int256 shortIndexDelta, int256 insuranceFlow) {
        int256 budgetFlow;
        (longIndexDelta, shortIndexDelta, insuranceFlow, budgetFlow) = Funding.split(
            premium,
            longSize,
            shortSize,
            paidPerUnit,
            receivedPerUnit,
            Funding.Sources(insuranceAvailable, maxSubsidyRatio * elapsed, false, 0, 0)
        );
        // A static market's split never touches a budget.
        assert(budgetFlow == 0);
    }

    /// @notice The split on a market whose AMM budget takes part: `budgetAvailable` above its floor,
    /// `budgetRoom` below its target.
    function splitWithBudget(
        int256 premium,
        uint256 longSize,
        uint256 shortSize,
        uint256 paidPerUnit,
        uint256 receivedPerUnit,
        uint256 insuranceAvailable,
        uint256 ratioSeconds,
        uint256 budgetAvailable,
        uint256 budgetRoom
    ) external pure returns (int256 longIndexDelta, int256 shortIndexDelta, int256 insuranceFlow, int256 budgetFlow) {
        return
            Funding.split(
                premium,
                longSize,
                shortSize,
                paidPerUnit,
                receivedPerUnit,
                Funding.Sources(insuranceAvailable, ratioSeconds, true, budgetAvailable, budgetRoom)
            );
    }

    function imbalance(
        int256 premium,
        uint256 longSize,
        uint256 shortSize,
        uint256 paidPerUnit,
        uint256 receivedPerUnit
    ) external pure returns (int256) {
        return Funding.imbalance(premium, longSize, shortSize, paidPerUnit, receivedPerUnit);
    }

    function subsidyBudget(
        uint256 insuranceAvailable,
        uint256 maxSubsidyRatio,
        uint256 elapsed
    ) external pure returns (uint256) {
        return Funding.subsidyBudget(insuranceAvailable, maxSubsidyRatio * elapsed);
    }

    function owed(int256 size, int256 indexDelta) external pure returns (int256) {
        return Funding.owed(size, indexDelta);
    }
}
