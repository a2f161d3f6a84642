// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title FixedPoint
/// @notice 18-decimal fixed-point helpers on top of OpenZeppelin's `Math.mulDiv`.
/// @dev Every function names its rounding direction; callers pick the one that favours the protocol.
library FixedPoint {
    /// @dev One unit in 18-decimal fixed point.
    uint256 internal constant WAD = 1e18;

    /// @dev x * y / WAD, rounded down.
    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD);
    }

    /// @dev x * y / WAD, rounded up.
    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD, Math.Rounding.Ceil);
    }

    /// @dev x * WAD / y, rounded down.
    function wDivDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y);
    }

    /// @dev x * WAD / y, rounded up.
    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y, Math.Rounding.Ceil);
    }

    /// @dev x * y / d, rounded down.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    /// @dev x * y / d, rounded up.
    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }
}
