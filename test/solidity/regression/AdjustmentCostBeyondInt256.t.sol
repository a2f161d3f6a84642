// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CurveAdjustmentHarness} from "../../../contracts/test/CurveAdjustmentHarness.sol";
import {TestBase} from "../utils/TestBase.sol";

/// @notice Regression: adjustmentCost turned its unsigned magnitude into an int256 with a plain
/// conversion, which does not revert, so a magnitude of 2^255 or more (reachable with reserves
/// below 2^128, the domain the library states, when the net short leaves a few wei of base on the
/// curve) wrapped: a gain of about 2^256 wei came back as a positive cost of about 2^130. The cast
/// is now checked (SafeCast), so such a cost reverts instead of changing sign.
contract AdjustmentCostBeyondInt256Test is TestBase {
    CurveAdjustmentHarness internal h;

    function setUp() public {
        h = new CurveAdjustmentHarness();
    }

    function test_adjustmentCostRevertsInsteadOfChangingSign() public {
        // b = 2^128 - 1, net = -(2^128 - 2): b + net = 1 wei. Moving q from 1 to 2^128 - 1 changes
        // V = q x net / 1 by net x (2^128 - 2) = -(2^128 - 2)^2 = -(2^256 - 2^130 + 4): not an int256.
        uint256 b = type(uint128).max;
        int256 net = -int256(uint256(type(uint128).max) - 1);
        uint256 magnitude = (uint256(type(uint128).max) - 1) ** 2;
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintToInt.selector, magnitude));
        h.adjustmentCost(1, b, type(uint128).max, b, net);
    }

    function test_theLargestRepresentableCostStillReturns() public view {
        // b + net = 1, net = -(2^127 - 1), q from 1 to 2^128 - 1: |cost| = (2^127 - 1) x (2^128 - 2)
        // = 2^255 - 2^129 + 2, below 2^255: returned exactly, negative (the net short loses).
        uint256 b = 2 ** 127;
        int256 net = -int256(2 ** 127 - 1);
        int256 expected = -int256((2 ** 127 - 1) * (2 ** 128 - 2));
        assertEq(h.adjustmentCost(1, b, type(uint128).max, b, net), expected, "cost");
    }
}
