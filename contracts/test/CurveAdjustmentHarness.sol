// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CurveAdjustment} from "../libraries/CurveAdjustment.sol";

/// @notice Exposes the CurveAdjustment library's pure functions, so tests can call them with any input.
contract CurveAdjustmentHarness {
    function adjustmentCost(uint256 q0, uint256 b0, uint256 q1, uint256 b1, int256 net) external pure returns (int256) {
        return CurveAdjustment.adjustmentCost(q0, b0, q1, b1, net);
    }

    function terminalBase(uint256 baseReserve, int256 net) external pure returns (uint256) {
        return CurveAdjustment.terminalBase(baseReserve, net);
    }

    function quoteAtPrice(uint256 baseReserve, uint256 targetPrice) external pure returns (uint256) {
        return CurveAdjustment.quoteAtPrice(baseReserve, targetPrice);
    }

    function repegWithin(
        uint256 q0,
        uint256 b,
        uint256 targetQuote,
        int256 net,
        uint256 available
    ) external pure returns (uint256 q1, int256 cost) {
        return CurveAdjustment.repegWithin(q0, b, targetQuote, net, available);
    }

    function scaleDepth(uint256 q0, uint256 b0, uint256 depthRatio) external pure returns (uint256 q1, uint256 b1) {
        return CurveAdjustment.scaleDepth(q0, b0, depthRatio);
    }

    function depthRatioForCost(uint256 q, uint256 b, int256 net, uint256 room) external pure returns (uint256) {
        return CurveAdjustment.depthRatioForCost(q, b, net, room);
    }

    function spreadRatio(CurveAdjustment.SpreadInputs calldata inputs) external pure returns (uint256) {
        return CurveAdjustment.spreadRatio(inputs);
    }

    function withinLeverage(
        int256 netBefore,
        int256 netAfter,
        uint256 price,
        uint256 funds,
        uint256 maxLeverage
    ) external pure returns (bool) {
        return CurveAdjustment.withinLeverage(netBefore, netAfter, price, funds, maxLeverage);
    }

    function skewWeight() external pure returns (uint256) {
        return CurveAdjustment.SKEW_WEIGHT;
    }
}
