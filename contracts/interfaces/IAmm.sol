// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Direction of a trade or position: LONG buys base with quote, SHORT sells base for quote.
enum Side {
    LONG,
    SHORT
}

/// @title IAmm
/// @notice One virtual x*y=k market. It holds no tokens: its reserves only price trades. Only the
/// ClearingHouse may swap; anyone may read. All amounts and prices are 18-decimal fixed point.
/// @dev Rounding always leaves the pool with at least k: quote*base never decreases through a swap.
interface IAmm {
    /// @notice Risk limits of the market; a zero field switches that limit off.
    /// @param maxTradeRatio Largest quote amount of one trade by quote (open, increase, reduce or
    /// reverse; closes are exempt), as a fraction of the quote reserve.
    /// @param fluctuationLimitRatio Largest move of the spot price within one block (one timestamp),
    /// as a fraction of the price at the start of the block.
    /// @param maxOpenInterest Largest total size (base) on each side, longs and shorts counted apart.
    struct Limits {
        uint64 maxTradeRatio;
        uint64 fluctuationLimitRatio;
        uint128 maxOpenInterest;
    }

    /// @notice The reserves changed through a swap. Deltas are the pool's: + flows in, - flows out.
    event Swapped(int256 quoteDelta, int256 baseDelta, uint256 quoteReserve, uint256 baseReserve);
    /// @notice The owner changed the market's risk limits.
    event LimitsUpdated(uint256 maxTradeRatio, uint256 fluctuationLimitRatio, uint256 maxOpenInterest);

    /// @notice Caller is not the ClearingHouse.
    error OnlyClearingHouse(address caller);
    /// @notice A reserve given at construction is zero or does not fit in 128 bits.
    error InvalidReserves(uint256 quoteReserve, uint256 baseReserve);
    /// @notice A ratio above 100% (1e18).
    error RatioTooHigh(uint256 ratio);
    /// @notice The ClearingHouse address is zero.
    error ZeroClearingHouse();
    /// @notice A swap of zero quote or zero base.
    error ZeroSwapAmount();
    /// @notice The trade would take all (or more than all) of a reserve.
    error InsufficientReserve(uint256 reserve, uint256 requested);
    /// @notice The trade's quote amount is above `maxTradeRatio` of the quote reserve.
    error TradeTooLarge(uint256 quoteAmount, uint256 maxQuoteAmount);
    /// @notice The spot price would move more than `fluctuationLimitRatio` from the block's start price.
    error PriceFluctuationLimitExceeded(uint256 priceAtBlockStart, uint256 priceAfter);
    /// @notice The total size of one side would exceed `maxOpenInterest`.
    error OpenInterestCapExceeded(uint256 openInterest, uint256 maxOpenInterest);
    /// @notice A base amount larger than the position it closes.
    error CloseExceedsPosition(uint256 baseAmount, uint256 positionSize);

    /// @notice Trades a given quote amount: LONG puts `quoteAmount` in and takes base out; SHORT takes
    /// `quoteAmount` out and puts base in. Subject to every limit.
    /// @param side Direction of the trade.
    /// @param quoteAmount Quote notional of the trade.
    /// @param traderSizeBefore The trader's position size before the trade (for open interest).
    /// @return baseAmount Base given to (LONG) or owed by (SHORT) the trader, rounded in the pool's favour.
    function swapQuote(Side side, uint256 quoteAmount, int256 traderSizeBefore) external returns (uint256 baseAmount);

    /// @notice Closes `baseAmount` of a position of size `traderSizeBefore` (toward zero). Closing
    /// trades skip the trade-size limit and may cross the fluctuation limit if first in their block.
    /// @param traderSizeBefore The position being closed: + long (base goes in), - short (base comes out).
    /// @param baseAmount How much of the position to close, at most |traderSizeBefore|.
    /// @return quoteAmount Quote paid to a long, or owed by a short, rounded in the pool's favour.
    function swapBase(int256 traderSizeBefore, uint256 baseAmount) external returns (uint256 quoteAmount);

    /// @notice What `swapQuote` would return now, limits aside.
    function previewSwapQuote(Side side, uint256 quoteAmount) external view returns (uint256 baseAmount);

    /// @notice What `swapBase` would return now, limits aside; with baseAmount = |size|, the position's exit value.
    function previewSwapBase(int256 traderSizeBefore, uint256 baseAmount) external view returns (uint256 quoteAmount);

    /// @notice The virtual reserves.
    function getReserves() external view returns (uint256 quoteReserve, uint256 baseReserve);

    /// @notice Spot price, quote per base, rounded down.
    function getSpotPrice() external view returns (uint256);

    /// @notice Time-weighted average of the spot price over the last `interval` seconds; 0 gives
    /// the spot price. Each block counts with the price it ended on, from the next block on, so
    /// trades within one block cannot move it by more than that block's share of the window (a
    /// read in the block of a trade averages the blocks before it). 64 observations are kept, at
    /// least 30 s apart and only when the market trades: the window starts at the newest one at or
    /// before the asked start (earlier by under a minute while the market trades in every 30 s,
    /// more after idle stretches, whose price was constant), and with less history than asked it
    /// covers what there is (about 31 minutes at least for a market that trades continuously).
    function getMarkTwap(uint256 interval) external view returns (uint256);

    /// @notice Total size of all long positions and of all short positions (both positive).
    function getOpenInterest() external view returns (uint256 longSize, uint256 shortSize);

    /// @notice The market's risk limits.
    function getLimits() external view returns (Limits memory);

    /// @notice The only address allowed to swap.
    function clearingHouse() external view returns (address);

    /// @notice Sets the market's risk limits (owner only). Zero switches a limit off.
    function setLimits(Limits calldata limits) external;
}
