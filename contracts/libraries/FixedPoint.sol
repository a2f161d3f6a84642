// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title FixedPoint
/// @notice 18-decimal fixed-point helpers on top of OpenZeppelin's `Math.mulDiv`.
/// @dev Every function names its rounding direction; callers pick the one that favours the protocol.
/// Each takes a plain path when its product cannot overflow 256 bits (both factors below 2^128, the
/// case of every amount, price and ratio the protocol keeps), and `Math.mulDiv`'s 512-bit one
/// otherwise: the same value either way (the plain quotient of a product that fits is mulDiv's),
/// and the same division-by-zero panic, for a fraction of the gas.
library FixedPoint {
    /// @dev One unit in 18-decimal fixed point.
    uint256 internal constant WAD = 1e18;

    /// @dev Factors below this bound multiply without overflow.
    uint256 private constant HALF_WORD = 2 ** 128;

    /// @dev x * y / WAD, rounded down.
    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, y, WAD);
    }

    /// @dev x * y / WAD, rounded up.
    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, y, WAD);
    }

    /// @dev x * WAD / y, rounded down.
    function wDivDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivDown(x, WAD, y);
    }

    /// @dev x * WAD / y, rounded up.
    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return mulDivUp(x, WAD, y);
    }

    /// @dev x * y / d, rounded down.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        if ((x | y) < HALF_WORD) {
            unchecked {
                // Both factors below 2^128: the product fits. Division by zero still panics.
                return (x * y) / d;
            }
        }
        return Math.mulDiv(x, y, d);
    }

    /// @dev x * y / d, rounded up.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        if ((x | y) < HALF_WORD) {
            unchecked {
                // Both factors below 2^128: the product fits; the quotient is below 2^256 - 1, so
                // adding one cannot overflow. Division by zero still panics.
                uint256 p = x * y;
                uint256 q = p / d;
                return p % d == 0 ? q : q + 1;
            }
        }
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }
}
