// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm} from "./Vm.sol";

/// @notice A minimal test base: cheatcodes, assertions that say what differed, and bounding.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string what, uint256 left, uint256 right);
    error AssertionFailedSigned(string what, int256 left, int256 right);
    error AssertionFailedBool(string what);

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what, a, b);
    }

    function assertEq(int256 a, int256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailedSigned(what, a, b);
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert AssertionFailed(what, a, b);
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) revert AssertionFailed(what, a, b);
    }

    function assertLe(int256 a, int256 b, string memory what) internal pure {
        if (a > b) revert AssertionFailedSigned(what, a, b);
    }

    /// @dev |a - b| <= tolerance.
    function assertApproxEq(uint256 a, uint256 b, uint256 tolerance, string memory what) internal pure {
        uint256 diff = a > b ? a - b : b - a;
        if (diff > tolerance) revert AssertionFailed(what, a, b);
    }

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailedBool(what);
    }

    /// @dev Maps any x into [lo, hi] without rejecting inputs.
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        return lo + (x % (hi - lo + 1));
    }
}
