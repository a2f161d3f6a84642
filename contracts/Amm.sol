// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {PriceHistory} from "./libraries/PriceHistory.sol";

/// @title Amm
/// @notice One virtual x*y=k market. See {IAmm}.
/// @dev The pricing function (`_swap*` and `_preview*`) and the reserve state live here and only
/// here, so a later re-peg or k adjustment changes one place. k is never stored: it is the product
/// of the reserves, and every swap rounds the reserve it computes up, so k can only grow by dust.
contract Amm is IAmm, Ownable2Step {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using PriceHistory for PriceHistory.History;

    // ---------------------------------------------------------------- immutables

    address public immutable clearingHouse;

    // ---------------------------------------------------------------- storage

    struct Reserves {
        uint128 quote;
        uint128 base;
    }

    struct OpenInterest {
        uint128 longSize;
        uint128 shortSize;
    }

    Reserves private _reserves;
    Limits private _limits;
    OpenInterest private _openInterest;
    /// @dev Mark price history. Its head, written at the first swap of each block, also holds the
    /// spot price at the block's start, which the fluctuation limit measures against.
    PriceHistory.History private _markHistory;

    // ---------------------------------------------------------------- constructor

    /// @param clearingHouse_ The only caller allowed to swap.
    /// @param quoteReserve Initial virtual quote reserve (18 decimals).
    /// @param baseReserve Initial virtual base reserve (18 decimals); the price is their ratio.
    /// @param limits Initial risk limits (0 = off).
    /// @param owner_ Who may change the limits.
    constructor(
        address clearingHouse_,
        uint256 quoteReserve,
        uint256 baseReserve,
        Limits memory limits,
        address owner_
    ) Ownable(owner_) {
        if (clearingHouse_ == address(0)) revert ZeroClearingHouse();
        if (
            quoteReserve == 0 || baseReserve == 0 || quoteReserve > type(uint128).max || baseReserve > type(uint128).max
        ) {
            revert InvalidReserves(quoteReserve, baseReserve);
        }
        clearingHouse = clearingHouse_;
        _reserves = Reserves(uint128(quoteReserve), uint128(baseReserve));
        _markHistory.initialize(_blockTimestamp(), quoteReserve.wDivDown(baseReserve));
        _setLimits(limits);
    }

    modifier onlyClearingHouse() {
        if (msg.sender != clearingHouse) revert OnlyClearingHouse(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- swaps

    /// @inheritdoc IAmm
    function swapQuote(
        Side side,
        uint256 quoteAmount,
        int256 traderSizeBefore
    ) external onlyClearingHouse returns (uint256 baseAmount) {
        Reserves memory r = _reserves;
        Limits memory limits = _limits;
        if (limits.maxTradeRatio != 0) {
            uint256 maxQuote = uint256(r.quote).wMulDown(limits.maxTradeRatio);
            if (quoteAmount > maxQuote) revert TradeTooLarge(quoteAmount, maxQuote);
        }
        (uint256 newQuote, uint256 newBase) = _reservesAfterQuoteSwap(r, side, quoteAmount);
        int256 baseDelta;
        if (side == Side.LONG) {
            baseAmount = r.base - newBase;
            // A quote amount too small to buy one wei of base would be a gift to the pool.
            if (baseAmount == 0) revert ZeroSwapAmount();
            baseDelta = -int256(baseAmount);
        } else {
            baseAmount = newBase - r.base;
            baseDelta = int256(baseAmount);
        }
        int256 traderSizeAfter =
            side == Side.LONG ? traderSizeBefore + int256(baseAmount) : traderSizeBefore - int256(baseAmount);
        _commit(r, newQuote, newBase, limits, false);
        _updateOpenInterest(traderSizeBefore, traderSizeAfter, limits.maxOpenInterest);
        emit Swapped(int256(newQuote) - int256(uint256(r.quote)), baseDelta, newQuote, newBase);
    }

    /// @inheritdoc IAmm
    function swapBase(
        int256 traderSizeBefore,
        uint256 baseAmount
    ) external onlyClearingHouse returns (uint256 quoteAmount) {
        Reserves memory r = _reserves;
        (uint256 newQuote, uint256 newBase) = _reservesAfterBaseSwap(r, traderSizeBefore, baseAmount);
        int256 traderSizeAfter;
        if (traderSizeBefore > 0) {
            // Closing a long: base goes back in, quote comes out.
            quoteAmount = r.quote - newQuote;
            traderSizeAfter = traderSizeBefore - int256(baseAmount);
        } else {
            quoteAmount = newQuote - r.quote;
            traderSizeAfter = traderSizeBefore + int256(baseAmount);
        }
        Limits memory limits = _limits;
        _commit(r, newQuote, newBase, limits, true);
        _updateOpenInterest(traderSizeBefore, traderSizeAfter, limits.maxOpenInterest);
        emit Swapped(
            int256(newQuote) - int256(uint256(r.quote)),
            int256(newBase) - int256(uint256(r.base)),
            newQuote,
            newBase
        );
    }

    // ---------------------------------------------------------------- pricing

    /// @dev Reserves after a trade of `quoteAmount` quote: the base reserve is k / quote, rounded up.
    function _reservesAfterQuoteSwap(
        Reserves memory r,
        Side side,
        uint256 quoteAmount
    ) private pure returns (uint256 newQuote, uint256 newBase) {
        if (quoteAmount == 0) revert ZeroSwapAmount();
        if (side == Side.LONG) {
            newQuote = r.quote + quoteAmount;
        } else {
            if (quoteAmount >= r.quote) revert InsufficientReserve(r.quote, quoteAmount);
            newQuote = r.quote - quoteAmount;
        }
        newBase = FixedPoint.mulDivUp(r.quote, r.base, newQuote);
    }

    /// @dev Reserves after closing `baseAmount` of a position: the quote reserve is k / base, rounded up.
    function _reservesAfterBaseSwap(
        Reserves memory r,
        int256 traderSizeBefore,
        uint256 baseAmount
    ) private pure returns (uint256 newQuote, uint256 newBase) {
        if (baseAmount == 0) revert ZeroSwapAmount();
        uint256 positionSize = SignedMath.abs(traderSizeBefore);
        if (baseAmount > positionSize) revert CloseExceedsPosition(baseAmount, positionSize);
        if (traderSizeBefore > 0) {
            newBase = r.base + baseAmount;
        } else {
            if (baseAmount >= r.base) revert InsufficientReserve(r.base, baseAmount);
            newBase = r.base - baseAmount;
        }
        newQuote = FixedPoint.mulDivUp(r.quote, r.base, newBase);
    }

    /// @dev Records the block's start in the mark history (first swap of a block only), writes the
    /// new reserves and checks the per-block price fluctuation limit. A closing trade may cross the
    /// limit only when it is the first swap of its block.
    function _commit(
        Reserves memory r,
        uint256 newQuote,
        uint256 newBase,
        Limits memory limits,
        bool isClosing
    ) private {
        uint256 priceBefore = uint256(r.quote).wDivDown(r.base);
        (PriceHistory.Head memory head, bool firstInBlock) = _markHistory.record(
            _blockTimestamp(),
            priceBefore,
            priceBefore
        );
        _reserves = Reserves(newQuote.toUint128(), newBase.toUint128());
        if (limits.fluctuationLimitRatio == 0) return;

        uint256 priceAtBlockStart = head.price;
        uint256 priceAfter = newQuote.wDivDown(newBase);
        uint256 move = priceAfter > priceAtBlockStart ? priceAfter - priceAtBlockStart : priceAtBlockStart - priceAfter;
        if (move > priceAtBlockStart.wMulDown(limits.fluctuationLimitRatio) && !(isClosing && firstInBlock)) {
            revert PriceFluctuationLimitExceeded(priceAtBlockStart, priceAfter);
        }
    }

    /// @dev Moves the long and short totals from the trader's old size to the new one.
    function _updateOpenInterest(int256 sizeBefore, int256 sizeAfter, uint256 cap) private {
        OpenInterest memory oi = _openInterest;
        uint256 longSize = oi.longSize - _longPart(sizeBefore) + _longPart(sizeAfter);
        uint256 shortSize = oi.shortSize - _shortPart(sizeBefore) + _shortPart(sizeAfter);
        // Only growth is capped: reducing exposure must always be possible.
        if (cap != 0) {
            if (longSize > oi.longSize && longSize > cap) revert OpenInterestCapExceeded(longSize, cap);
            if (shortSize > oi.shortSize && shortSize > cap) revert OpenInterestCapExceeded(shortSize, cap);
        }
        _openInterest = OpenInterest(longSize.toUint128(), shortSize.toUint128());
    }

    function _longPart(int256 size) private pure returns (uint256) {
        return size > 0 ? uint256(size) : 0;
    }

    function _shortPart(int256 size) private pure returns (uint256) {
        return size < 0 ? uint256(-size) : 0;
    }

    /// @dev The one place the contract reads the time. A block is identified by its timestamp,
    /// which strictly increases on Ethereum and the OP Stack (unlike block.number, whose meaning
    /// differs between L2s); where blocks share a timestamp, the per-block rules apply per second,
    /// which is stricter.
    function _blockTimestamp() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IAmm
    function setLimits(Limits calldata limits) external onlyOwner {
        _setLimits(limits);
    }

    function _setLimits(Limits memory limits) private {
        if (limits.maxTradeRatio > FixedPoint.WAD) revert RatioTooHigh(limits.maxTradeRatio);
        if (limits.fluctuationLimitRatio > FixedPoint.WAD) revert RatioTooHigh(limits.fluctuationLimitRatio);
        _limits = limits;
        emit LimitsUpdated(limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IAmm
    function previewSwapQuote(Side side, uint256 quoteAmount) external view returns (uint256 baseAmount) {
        Reserves memory r = _reserves;
        (, uint256 newBase) = _reservesAfterQuoteSwap(r, side, quoteAmount);
        return side == Side.LONG ? r.base - newBase : newBase - r.base;
    }

    /// @inheritdoc IAmm
    function previewSwapBase(int256 traderSizeBefore, uint256 baseAmount) external view returns (uint256 quoteAmount) {
        Reserves memory r = _reserves;
        (uint256 newQuote, ) = _reservesAfterBaseSwap(r, traderSizeBefore, baseAmount);
        return traderSizeBefore > 0 ? r.quote - newQuote : newQuote - r.quote;
    }

    /// @inheritdoc IAmm
    function getReserves() external view returns (uint256 quoteReserve, uint256 baseReserve) {
        Reserves memory r = _reserves;
        return (r.quote, r.base);
    }

    /// @inheritdoc IAmm
    function getSpotPrice() external view returns (uint256) {
        Reserves memory r = _reserves;
        return uint256(r.quote).wDivDown(r.base);
    }

    /// @inheritdoc IAmm
    function getMarkTwap(uint256 interval) external view returns (uint256) {
        Reserves memory r = _reserves;
        return _markHistory.twap(_blockTimestamp(), uint256(r.quote).wDivDown(r.base), interval);
    }

    /// @inheritdoc IAmm
    function getOpenInterest() external view returns (uint256 longSize, uint256 shortSize) {
        OpenInterest memory oi = _openInterest;
        return (oi.longSize, oi.shortSize);
    }

    /// @inheritdoc IAmm
    function getLimits() external view returns (Limits memory) {
        return _limits;
    }
}
