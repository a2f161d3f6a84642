// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CHEATCODES, Vm} from "./Vm.sol";

/// @notice A minimal test base: cheatcodes, assertions that say what differed, and bounding.
abstract contract TestBase {
    Vm internal constant vm = CHEATCODES;

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

    function assertGe(int256 a, int256 b, string memory what) internal pure {
        if (a < b) revert AssertionFailedSigned(what, a, b);
    }

    function assertGt(uint256 a, uint256 b, string memory what) internal pure {
        if (a <= b) revert AssertionFailed(what, a, b);
    }

    function assertLt(uint256 a, uint256 b, string memory what) internal pure {
        if (a >= b) revert AssertionFailed(what, a, b);
    }

    function assertLt(int256 a, int256 b, string memory what) internal pure {
        if (a >= b) revert AssertionFailedSigned(what, a, b);
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what, uint160(a), uint160(b));
    }

    function assertEq(bool a, bool b, string memory what) internal pure {
        if (a != b) revert AssertionFailedBool(what);
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
        if (lo == 0 && hi == type(uint256).max) return x;
        return lo + (x % (hi - lo + 1));
    }

    /// @dev Maps any x into [lo, hi] (lo > 0) log-uniformly: a decade is picked first, then a value
    /// inside it, so small and large magnitudes are explored equally often.
    function boundLog(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        uint256 decades;
        for (uint256 v = lo; v <= hi / 10; v *= 10) decades++;
        uint256 d = x % (decades + 1);
        uint256 start = lo * 10 ** d;
        uint256 end = d == decades ? hi : start * 10 - 1;
        return bound(x / (decades + 1), start, end);
    }

    /// @dev Re-raises raw revert data (used to let an unexpected revert fail the test as itself).
    function bubble(bytes memory err) internal pure {
        assembly ("memory-safe") {
            revert(add(err, 32), mload(err))
        }
    }

    /// @dev The 4-byte selector of raw revert data (0 if shorter).
    function selectorOf(bytes memory err) internal pure returns (bytes4 sel) {
        if (err.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            sel := mload(add(err, 32))
        }
    }
}
