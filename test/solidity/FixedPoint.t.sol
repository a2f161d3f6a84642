// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {FixedPoint} from "../../contracts/libraries/FixedPoint.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice FixedPoint's plain path (both factors below 2^128) and its 512-bit one answer exactly what
/// OpenZeppelin's `Math.mulDiv` answers, rounding down and up, and revert alike (division by zero,
/// a quotient beyond 256 bits), on both sides of the 2^128 bound.
contract FixedPointTest is TestBase {
    uint256 internal constant WAD = 1e18;

    function down(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return FixedPoint.mulDivDown(x, y, d);
    }

    function up(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return FixedPoint.mulDivUp(x, y, d);
    }

    function refDown(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    function refUp(uint256 x, uint256 y, uint256 d) external pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    /// @dev Both calls succeed with the same answer, or both revert with the same data.
    function _same(bytes memory call, bytes memory refCall, string memory what) internal view {
        (bool ok, bytes memory out) = address(this).staticcall(call);
        (bool refOk, bytes memory refOut) = address(this).staticcall(refCall);
        assertEq(ok, refOk, what);
        assertEq(uint256(keccak256(out)), uint256(keccak256(refOut)), what);
    }

    function _check(uint256 x, uint256 y, uint256 d) internal view {
        _same(abi.encodeCall(this.down, (x, y, d)), abi.encodeCall(this.refDown, (x, y, d)), "mulDivDown");
        _same(abi.encodeCall(this.up, (x, y, d)), abi.encodeCall(this.refUp, (x, y, d)), "mulDivUp");
    }

    /// @dev A factor of about `bits` bits (0..256) from `seed`.
    function _ofBits(uint256 seed, uint256 bits) internal pure returns (uint256) {
        if (bits == 0) return 0;
        return bits >= 256 ? seed : seed >> (256 - bits);
    }

    function testFuzz_matchesMathMulDiv(
        uint256 x,
        uint256 y,
        uint256 d,
        uint8 xBits,
        uint8 yBits,
        uint8 dBits
    ) public view {
        x = _ofBits(x, uint256(xBits) + 1);
        y = _ofBits(y, uint256(yBits) + 1);
        d = _ofBits(d, uint256(dBits) + 1);
        _check(x, y, d);
    }

    function testFuzz_wadHelpersAreMulDivByWad(uint256 x, uint256 y, uint8 xBits, uint8 yBits) public pure {
        x = _ofBits(x, uint256(xBits) + 1);
        y = _ofBits(y, uint256(yBits) + 1) | 1; // a divisor: not zero
        if (x <= type(uint256).max / WAD) {
            assertEq(FixedPoint.wDivDown(x, y), Math.mulDiv(x, WAD, y), "wDivDown");
            assertEq(FixedPoint.wDivUp(x, y), Math.mulDiv(x, WAD, y, Math.Rounding.Ceil), "wDivUp");
        }
        if (Math.mulDiv(x, y, type(uint256).max) < WAD) {
            assertEq(FixedPoint.wMulDown(x, y), Math.mulDiv(x, y, WAD), "wMulDown");
            assertEq(FixedPoint.wMulUp(x, y), Math.mulDiv(x, y, WAD, Math.Rounding.Ceil), "wMulUp");
        }
    }

    /// @notice The edges of the plain path: the largest factors it takes, the smallest it leaves to
    /// mulDiv, a divisor of 1 (the largest quotient), zero factors and a zero divisor.
    function test_edgesOfThePlainPath() public view {
        uint256 top = 2 ** 128 - 1;
        _check(top, top, 1);
        _check(top, top, 3);
        _check(top, top, type(uint256).max);
        _check(top + 1, top, 1);
        _check(top + 1, top + 1, 1); // the quotient does not fit: both revert
        _check(top + 1, top + 1, 7);
        _check(type(uint256).max, type(uint256).max, type(uint256).max);
        _check(0, top + 1, 0);
        _check(0, 5, 0);
        _check(3, 5, 0);
        _check(0, 0, 1);
        _check(7, 3, 2);
        assertEq(this.up(7, 3, 2), 11, "ceil(21 / 2)");
        assertEq(this.down(7, 3, 2), 10, "floor(21 / 2)");
        assertEq(this.up(top, top, 1), top * top, "exact: nothing to round");
    }
}
