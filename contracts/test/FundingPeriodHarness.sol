// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmm} from "../interfaces/IAmm.sol";
import {FundingPeriod} from "../libraries/FundingPeriod.sol";

/// @notice Drives the FundingPeriod library over its own storage the way the Amm does: a trade
/// accrues funding on the open interest as it stood, then moves it; an update closes the period
/// and opens the next from given cumulatives. Time is the block's. A market AMM budget (amount,
/// floor, target) stands in for a dynamic curve's once `setBudget` turns it on: the library reads
/// it through `_budgetLimit` and the harness books the snapshot's `budgetFlow` in it, as the Amm.
contract FundingPeriodHarness {
    using FundingPeriod for FundingPeriod.State;

    FundingPeriod.State internal _state;
    FundingPeriod.OpenInterest internal _oi;
    uint256 public budget;
    uint256 public budgetFloor;
    uint256 public budgetTarget;

    constructor(IAmm.FundingParams memory params) {
        _state.initialize(block.timestamp);
        _state.setParams(params);
        _oi.accruedAt = uint40(block.timestamp);
    }

    function setParams(IAmm.FundingParams calldata params) external {
        _state.setParams(params);
    }

    function setSubsidyRatio(uint256 maxSubsidyRatio) external {
        _state.setSubsidyRatio(maxSubsidyRatio);
    }

    /// @notice Turns the budget on (`on`: the curve flags of the open interest not 0) or off, with
    /// its amount, floor and target.
    function setBudget(bool on, uint256 amount, uint256 floor, uint256 target) external {
        _oi.curveFlags = on ? 1 : 0;
        (budget, budgetFloor, budgetTarget) = (amount, floor, target);
    }

    /// @notice Accrues to now on the open interest as it stood, then sets it to the sizes given.
    function trade(
        uint256 longSize,
        uint256 shortSize,
        uint256 insuranceAvailable
    ) external returns (IAmm.FundingSnapshot memory funding) {
        FundingPeriod.OpenInterest memory oi = _oi;
        funding = _state.accrue(oi, _backers(insuranceAvailable), block.timestamp);
        _book(funding.budgetFlow);
        _oi = FundingPeriod.OpenInterest(uint104(longSize), uint104(shortSize), uint40(block.timestamp), oi.curveFlags);
    }

    /// @notice Closes the period now and opens the next with the cumulatives given.
    function update(
        FundingPeriod.Checkpoint calldata next,
        bool premiumAllowed,
        uint256 insuranceAvailable
    ) external returns (IAmm.FundingSnapshot memory funding, int256 premium, uint256 markTwap, uint256 indexTwap) {
        FundingPeriod.OpenInterest memory oi = _oi;
        uint256 window;
        FundingPeriod.Params memory params;
        (funding, window, params) = _state.closePeriod(oi, _backers(insuranceAvailable), block.timestamp);
        _book(funding.budgetFlow);
        _oi = oi;
        (premium, markTwap, indexTwap) = _state.openPeriod(next, premiumAllowed, window, params, block.timestamp);
    }

    function stop(uint256 insuranceAvailable) external returns (IAmm.FundingSnapshot memory funding) {
        FundingPeriod.OpenInterest memory oi = _oi;
        funding = _state.stop(oi, _backers(insuranceAvailable), block.timestamp);
        _book(funding.budgetFlow);
        _oi = oi;
    }

    function indicesNow(uint256 insuranceAvailable) external view returns (IAmm.FundingSnapshot memory funding) {
        FundingPeriod.OpenInterest memory oi = _oi;
        (funding, , ) = _state.indicesAt(oi, _state.period, _backers(insuranceAvailable), block.timestamp);
    }

    function _backers(uint256 insuranceAvailable) internal pure returns (FundingPeriod.Backers memory) {
        return FundingPeriod.Backers(insuranceAvailable, _budgetLimit);
    }

    /// @dev The Amm's rule: above the floor for a shortfall, below the target for a surplus.
    function _budgetLimit(bool shortfall) internal view returns (uint256) {
        if (shortfall) return budget > budgetFloor ? budget - budgetFloor : 0;
        return budgetTarget > budget ? budgetTarget - budget : 0;
    }

    function _book(int256 budgetFlow) internal {
        if (budgetFlow > 0) budget += uint256(budgetFlow);
        else budget -= uint256(-budgetFlow);
    }

    function period() external view returns (int256 premium, uint256 updatedAt, uint256 accrualEnd) {
        FundingPeriod.Period memory p = _state.period;
        return (p.premium, p.updatedAt, p.accrualEnd);
    }

    /// @notice The subsidy ratio the current period applies, and the one the next will.
    function subsidyRatios() external view returns (uint256 current, uint256 next) {
        return (_state.period.maxSubsidyRatio, _state.params.maxSubsidyRatio);
    }

    function startIndices() external view returns (int256 long, int256 short) {
        return (_state.startIndices.long, _state.startIndices.short);
    }

    function checkpoint() external view returns (FundingPeriod.Checkpoint memory) {
        return _state.checkpoint;
    }

    function accruedAt() external view returns (uint256) {
        return _oi.accruedAt;
    }

    function premiumOf(uint256 markTwap, uint256 indexTwap, uint256 maxPremiumRatio) external pure returns (int256) {
        return FundingPeriod.premium(markTwap, indexTwap, maxPremiumRatio);
    }
}
