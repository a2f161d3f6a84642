// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmmErrors, Side} from "../interfaces/IAmm.sol";
import {FixedPoint} from "./FixedPoint.sol";

/// @title CurveMath
/// @notice The x*y=k pricing function: the reserves a swap leaves behind. The Amm swaps and
/// previews with it, and the viewer's previews run it on the reserves a first leg leaves (a
/// reversal's close), so there is one curve.
/// @dev Rounding always leaves the pool with at least k: the reserve that is solved for rounds up.
library CurveMath {
    /// @notice Reserves after a trade of `quoteAmount` quote (LONG puts it in, SHORT takes it out):
    /// the base reserve is k / quote, rounded up.
    function afterQuoteSwap(
        uint256 quoteReserve,
        uint256 baseReserve,
        Side side,
        uint256 quoteAmount
    ) internal pure returns (uint256 newQuote, uint256 newBase) {
        if (quoteAmount == 0) revert IAmmErrors.ZeroSwapAmount();
        if (side == Side.LONG) {
            newQuote = quoteReserve + quoteAmount;
        } else {
            if (quoteAmount >= quoteReserve) revert IAmmErrors.InsufficientReserve(quoteReserve, quoteAmount);
            newQuote = quoteReserve - quoteAmount;
        }
        newBase = FixedPoint.mulDivUp(quoteReserve, baseReserve, newQuote);
    }

    /// @notice Reserves after closing `baseAmount` of a position of `traderSizeBefore` (a long's
    /// base goes back in, a short's comes out): the quote reserve is k / base, rounded up.
    function afterBaseSwap(
        uint256 quoteReserve,
        uint256 baseReserve,
        int256 traderSizeBefore,
        uint256 baseAmount
    ) internal pure returns (uint256 newQuote, uint256 newBase) {
        if (baseAmount == 0) revert IAmmErrors.ZeroSwapAmount();
        uint256 positionSize = SignedMath.abs(traderSizeBefore);
        if (baseAmount > positionSize) revert IAmmErrors.CloseExceedsPosition(baseAmount, positionSize);
        if (traderSizeBefore > 0) {
            newBase = baseReserve + baseAmount;
        } else {
            if (baseAmount >= baseReserve) revert IAmmErrors.InsufficientReserve(baseReserve, baseAmount);
            newBase = baseReserve - baseAmount;
        }
        newQuote = FixedPoint.mulDivUp(quoteReserve, baseReserve, newBase);
    }

    /// @notice Base bought (LONG) or sold (SHORT) for `quoteAmount`.
    function baseForQuote(
        uint256 quoteReserve,
        uint256 baseReserve,
        Side side,
        uint256 quoteAmount
    ) internal pure returns (uint256) {
        (, uint256 newBase) = afterQuoteSwap(quoteReserve, baseReserve, side, quoteAmount);
        return side == Side.LONG ? baseReserve - newBase : newBase - baseReserve;
    }

    /// @notice Quote received closing `baseAmount` of a long, or paid closing it of a short.
    function quoteForBase(
        uint256 quoteReserve,
        uint256 baseReserve,
        int256 traderSizeBefore,
        uint256 baseAmount
    ) internal pure returns (uint256) {
        (uint256 newQuote, ) = afterBaseSwap(quoteReserve, baseReserve, traderSizeBefore, baseAmount);
        return traderSizeBefore > 0 ? quoteReserve - newQuote : newQuote - quoteReserve;
    }
}
