// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmErrors} from "../interfaces/IAmm.sol";
import {FixedPoint} from "./FixedPoint.sol";

/// @title PriceBand
/// @notice The Amm's price limits as pure arithmetic: how far a price is from a reference, the index
/// band a trade growing exposure must respect, the per-block fluctuation limit, and the repeg
/// threshold. Every limit is a ratio of its reference price (18 decimals), rounded down, so a price
/// exactly at the bound is inside it.
/// @dev A trade is refused only when it leaves the price beyond the bound AND further from the
/// reference than it found it: a trade that brings the price back toward the reference is always
/// allowed, even outside the band.
library PriceBand {
    using FixedPoint for uint256;

    /// @notice |a - b|.
    function distance(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }

    /// @notice Whether `price` is more than `ratio` x `anchor` away from `anchor`.
    function beyond(uint256 price, uint256 anchor, uint256 ratio) internal pure returns (bool) {
        return distance(price, anchor) > anchor.wMulDown(ratio);
    }

    /// @notice Reverts {IAmmErrors-IndexBandExceeded} when a trade takes the price from
    /// `priceBefore` to `priceAfter`, more than `band` x `index` from `index` and further from it
    /// than before.
    function checkIndexBand(uint256 index, uint256 band, uint256 priceBefore, uint256 priceAfter) internal pure {
        uint256 maxDistance = index.wMulDown(band);
        uint256 distanceAfter = distance(priceAfter, index);
        if (distanceAfter > maxDistance && distanceAfter > distance(priceBefore, index)) {
            revert IAmmErrors.IndexBandExceeded(index, priceAfter, maxDistance);
        }
    }

    /// @notice Whether a swap from `priceBefore` to `priceAfter` crosses the per-block fluctuation
    /// limit: `priceAfter` more than `limitRatio` x `blockStart` from the block's starting price and
    /// further from it than `priceBefore`.
    function exceedsFluctuation(
        uint256 blockStart,
        uint256 limitRatio,
        uint256 priceBefore,
        uint256 priceAfter
    ) internal pure returns (bool) {
        uint256 move = distance(priceAfter, blockStart);
        return move > blockStart.wMulDown(limitRatio) && move > distance(priceBefore, blockStart);
    }
}
