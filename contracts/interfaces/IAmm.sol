// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmCurve, IAmmCurveErrors} from "./IAmmCurve.sol";
import {ICommonErrors} from "./ICommonErrors.sol";
import {IPriceFeed} from "./IPriceFeed.sol";

/// @notice Direction of a trade or position: LONG buys base with quote, SHORT sells base for quote.
enum Side {
    LONG,
    SHORT
}

/// @title IAmmErrors
/// @notice The errors an Amm raises; {IClearingHouse} inherits them, as its calls can surface them.
interface IAmmErrors is ICommonErrors, IAmmCurveErrors {
    /// @notice A reserve given at construction is zero or does not fit in 128 bits.
    error InvalidReserves(uint256 quoteReserve, uint256 baseReserve);
    /// @notice A ratio above 100% (1e18).
    error RatioTooHigh(uint256 ratio);
    /// @notice The ClearingHouse address is zero.
    error ZeroClearingHouse();
    /// @notice The curve module given to the constructor is not an {AmmCurveModule} (its kind).
    error InvalidCurveModule(address module);
    /// @notice A swap of zero quote or zero base.
    error ZeroSwapAmount();
    /// @notice The trade would take all (or more than all) of a reserve.
    error InsufficientReserve(uint256 reserve, uint256 requested);
    /// @notice The trade's quote amount is above `maxTradeRatio` of the quote reserve.
    error TradeTooLarge(uint256 quoteAmount, uint256 maxQuoteAmount);
    /// @notice The spot price would move more than `fluctuationLimitRatio` from the block's start
    /// price, and further from it than before the trade.
    error PriceFluctuationLimitExceeded(uint256 priceAtBlockStart, uint256 priceAfter);
    /// @notice A risk-increasing trade, or a block's first close beyond the fluctuation limit, would
    /// leave the spot price more than the index band from the recorded index, and further from it
    /// than before.
    error IndexBandExceeded(uint256 indexPrice, uint256 priceAfter, uint256 maxDistance);
    /// @notice An index band outside [MIN_INDEX_BAND, MAX_INDEX_BAND] (and not 0).
    error IndexBandOutOfRange(uint256 indexBandRatio);
    /// @notice An index band that is not a whole number of `step` (a millionth of the index).
    error IndexBandNotWholeStep(uint256 indexBandRatio, uint256 step);
    /// @notice An open interest cap above what one side's open interest can hold.
    error OpenInterestCapTooHigh(uint256 maxOpenInterest, uint256 maxCap);
    /// @notice The total size of one side would exceed `maxOpenInterest`.
    error OpenInterestCapExceeded(uint256 openInterest, uint256 maxOpenInterest);
    /// @notice A base amount larger than the position it closes.
    error CloseExceedsPosition(uint256 baseAmount, uint256 positionSize);
    /// @notice A funding update before `minUpdateInterval` has passed since the last one.
    error FundingUpdateTooEarly(uint256 earliest);
    /// @notice The price feed address is zero.
    error ZeroPriceFeed();
    /// @notice `minUpdateInterval` outside 60 s .. 1 day.
    error InvalidFundingWindow(uint256 minUpdateInterval);
    /// @notice `maxAccrualPeriod` shorter than `minUpdateInterval`.
    error InvalidAccrualPeriod(uint256 maxAccrualPeriod, uint256 minUpdateInterval);
    /// @notice No valid index price has been recorded yet.
    error NoIndexPrice();
    /// @notice A funding subsidy budget above MAX_FUNDING_SUBSIDY_RATIO (10% of the fund per day).
    error FundingSubsidyRatioOutOfRange(uint256 maxFundingSubsidyRatio);
}

/// @title IAmm
/// @notice One virtual x*y=k market. It holds no tokens: its reserves only price trades. Only the
/// ClearingHouse may swap; anyone may read. All amounts and prices are 18-decimal fixed point.
///
/// Funding is continuous: the market keeps a long and a short funding index (quote per unit of
/// base; see {Funding}) that grow by `premium x elapsed / 1 day`, where the premium, set by each
/// funding update, is the previous window's markTwap - indexTwap, clamped to +/- maxPremiumRatio x
/// indexTwap (positive: longs pay). Every swap first accrues the indices to now on the open
/// interest as it stood, and returns them with the insurance fund's share of that accrual: the
/// fund receives what the paying side pays beyond what the receiving side receives and pays the
/// difference the other way out of a budget, `maxFundingSubsidyRatio` of `insuranceAvailable` per
/// day of funding, pro rata over the stretch accrued ({getFundingSubsidyRatio}); beyond the budget
/// the receiving side's index grows by less. On a market whose dynamic curve is on, the market's
/// AMM budget comes first both ways: it pays the difference from what it holds above its floor
/// before the fund, and takes the surplus up to its target, the fund the rest ({FundingSnapshot}). Funding stops accruing `maxAccrualPeriod` after the last update, and a window
/// without a valid index throughout sets the premium to zero.
/// @dev Rounding always leaves the pool with at least k: quote*base never decreases through a swap.
interface IAmm is IAmmErrors, IAmmCurve {
    /// @notice The funding indices accrued to now and the shares of the accrual's imbalance that
    /// the insurance fund and the market's AMM budget take (see {Funding}).
    /// @param longIndex What one unit of long has paid since the market opened (negative: received).
    /// @param shortIndex What one unit of short has received (negative: paid).
    /// @param insuranceFlow What the insurance fund receives from this accrual (negative: pays).
    /// @param budgetFlow What the market's AMM budget receives from it (negative: pays); 0 on a
    /// static curve. The Amm books it itself ({IAmmCurve-BudgetFundingFlow}); the money stays in
    /// the market's pool, locked either way, so the ClearingHouse moves only `insuranceFlow`.
    struct FundingSnapshot {
        int256 longIndex;
        int256 shortIndex;
        int256 insuranceFlow;
        int256 budgetFlow;
    }

    /// @notice Funding parameters.
    /// @param maxPremiumRatio Largest premium as a fraction of the index TWAP (per day); default 10%.
    /// @param minUpdateInterval Shortest time between two funding updates, so each premium averages
    /// at least this window (60 s to 1 day; default 300 s).
    /// @param maxAccrualPeriod Funding accrues at the last premium for at most this long after an
    /// update (at least `minUpdateInterval`; default 3600 s), so a stalled keeper stops funding
    /// rather than charging a stale rate.
    struct FundingParams {
        uint64 maxPremiumRatio;
        uint32 minUpdateInterval;
        uint24 maxAccrualPeriod;
    }

    /// @notice Every market input a liquidation needs, read in one call ({getLiquidationInputs}).
    /// Each field is what the separate view named beside it answers in the same block.
    /// @param funding The funding indices accrued to now ({getFundingIndices}).
    /// @param spotPrice Spot price, quote per base, rounded down ({getValuationPrices}).
    /// @param markTwap Mark TWAP over the interval asked ({getValuationPrices}).
    /// @param indexPrice Last recorded index price, 0 when none in the last hour ({getValuationPrices}).
    /// @param maxCloseBase Most base the position can close now within the fluctuation limit ({maxCloseBase}).
    /// @param quoteReserve Virtual quote reserve ({getReserves}).
    /// @param baseReserve Virtual base reserve ({getReserves}).
    struct LiquidationInputs {
        FundingSnapshot funding;
        uint256 spotPrice;
        uint256 markTwap;
        uint256 indexPrice;
        uint256 maxCloseBase;
        uint256 quoteReserve;
        uint256 baseReserve;
    }

    /// @notice Risk limits of the market; a zero field switches that limit off.
    /// @param maxTradeRatio Largest quote amount of one trade by quote (open, increase, reduce or
    /// reverse; closes are exempt), as a fraction of the quote reserve.
    /// @param fluctuationLimitRatio Largest move of the spot price within one block (one timestamp),
    /// as a fraction of the price at the start of the block. A trade that leaves the price no
    /// further from that start than it found it is never refused.
    /// @param maxOpenInterest Largest total size (base) on each side, longs and shorts counted apart.
    /// With base reserve b at balance, the two caps C let the price swing 4bC / (b + C)^2 between
    /// their extremes: keep it below the ClearingHouse's IMR - MMR. The Amm does not know the margin
    /// ratios, so it cannot check this; the deploy tests check every parameter file (README). At
    /// most 2^104 - 1, the most one side's total can hold (a higher cap could never bind).
    struct Limits {
        uint64 maxTradeRatio;
        uint64 fluctuationLimitRatio;
        uint128 maxOpenInterest;
    }

    /// @notice The reserves changed through a swap. Deltas are the pool's: + flows in, - flows out.
    event Swapped(int256 quoteDelta, int256 baseDelta, uint256 quoteReserve, uint256 baseReserve);
    /// @notice The owner changed the market's risk limits.
    event LimitsUpdated(uint256 maxTradeRatio, uint256 fluctuationLimitRatio, uint256 maxOpenInterest);
    /// @notice The owner changed the index band (0: off).
    event IndexBandUpdated(uint256 indexBandRatio);
    /// @notice A funding update closed a window: `premium` (quote per base per day) now applies;
    /// the TWAPs are the window's (0 when no premium could be set); the indices are as of now and
    /// `insuranceFlow` is the fund's share of the accrual that ended the window.
    event FundingUpdated(
        int256 premium,
        uint256 markTwap,
        uint256 indexTwap,
        int256 longIndex,
        int256 shortIndex,
        int256 insuranceFlow
    );
    /// @notice A valid index price was read from the oracle and recorded (the first read of a block;
    /// later reads in the same block keep that price and emit nothing).
    event IndexRecorded(uint256 price);
    /// @notice The owner set the oracle and the asset key it prices this market by.
    event OracleSet(address indexed priceFeed, bytes32 indexed asset);
    /// @notice The owner changed the funding parameters.
    event FundingParamsUpdated(uint256 maxPremiumRatio, uint256 minUpdateInterval, uint256 maxAccrualPeriod);
    /// @notice The owner changed the insurance fund's funding subsidy budget (fraction of the fund
    /// per day of funding; 0: no subsidy). It applies from the next funding update.
    event FundingSubsidyRatioUpdated(uint256 maxFundingSubsidyRatio);

    /// @notice Trades a given quote amount: LONG puts `quoteAmount` in and takes base out; SHORT takes
    /// `quoteAmount` out and puts base in. Subject to every limit.
    /// @param side Direction of the trade.
    /// @param quoteAmount Quote notional of the trade.
    /// @param traderSizeBefore The trader's position size before the trade (for open interest).
    /// @param insuranceAvailable What the insurance fund holds; the accrual draws at most its budget from it.
    /// @return baseAmount Base given to (LONG) or owed by (SHORT) the trader, rounded in the pool's favour.
    /// @return funding The funding indices accrued to now (before this trade's open interest change).
    /// @return spreadFee The spread the trade pays, credited to the budget ({IAmmCurve}); the
    /// ClearingHouse charges it to the trader.
    /// @return curveCost What a repeg before the trade cost the budget (the swap's own, or the one a
    /// valuation ran for it first, {repegAndGetReserves}); the ClearingHouse releases as much of the
    /// market's locked margin.
    /// @return notionalBefore When the trade grows the trader's position (`traderSizeBefore`, on
    /// `side`), the position valued at the spot the trade runs on (after any repeg, before the trade;
    /// {PositionMath-notionalAtReserves}); else 0. An increase checks the position's margin at it
    /// with no valuation call of its own.
    function swapQuote(
        Side side,
        uint256 quoteAmount,
        int256 traderSizeBefore,
        uint256 insuranceAvailable
    )
        external
        returns (
            uint256 baseAmount,
            FundingSnapshot memory funding,
            uint256 spreadFee,
            uint256 curveCost,
            uint256 notionalBefore
        );

    /// @notice Closes `baseAmount` of a position of size `traderSizeBefore` (toward zero). Closing
    /// trades skip the trade-size limit and may cross the fluctuation limit if first in their block.
    /// @param traderSizeBefore The position being closed: + long (base goes in), - short (base comes out).
    /// @param baseAmount How much of the position to close, at most |traderSizeBefore|.
    /// @param insuranceAvailable What the insurance fund holds; the accrual draws at most its budget from it.
    /// @return quoteAmount Quote paid to a long, or owed by a short, rounded in the pool's favour.
    /// @return funding The funding indices accrued to now (before this trade's open interest change).
    /// @return spreadFee The spread the trade pays, as {swapQuote}'s.
    /// @return curveCost What a repeg before the trade cost the budget, as {swapQuote}'s.
    function swapBase(
        int256 traderSizeBefore,
        uint256 baseAmount,
        uint256 insuranceAvailable
    ) external returns (uint256 quoteAmount, FundingSnapshot memory funding, uint256 spreadFee, uint256 curveCost);

    /// @notice The virtual reserves a trade will swap on (ClearingHouse only, before a trade against
    /// a position that it values the position for, always followed by that trade's swap; an
    /// increase is valued by its swap, {swapQuote}'s `notionalBefore`): on a curve that repegs, the repeg
    /// check runs here instead of in the swap, so the swap moves no curve under the valuation; a
    /// repeg runs in a swap's order (funding accrued to now first, with `insuranceAvailable` as the
    /// fund), and the swap reports its cost as its `curveCost` and the accrual's fund share in its
    /// snapshot. See {IAmmCurve-previewRepeg} for the view.
    function repegAndGetReserves(
        uint256 insuranceAvailable
    ) external returns (uint256 quoteReserve, uint256 baseReserve);

    /// @notice {getLiquidationInputs} on the curve the liquidation will swap on (ClearingHouse only,
    /// always followed by the close's swap): the repeg check first, as {repegAndGetReserves}'s, so
    /// the liquidation is judged and sized ({maxCloseBase}) on the curve its close trades on.
    function repegAndGetLiquidationInputs(
        uint256 twapInterval,
        bool closingLong,
        uint256 insuranceAvailable
    ) external returns (LiquidationInputs memory);

    /// @notice Closes the funding window (ClearingHouse only): accrues the indices to now at the
    /// old premium, records the index price, and sets the premium from the window's TWAPs; then,
    /// with the dynamic curve on, repegs toward the index and adjusts the depth ({IAmmCurve}).
    /// @param insuranceAvailable What the insurance fund holds; the accrual draws at most its budget from it.
    /// @param frozen Whether the market is paused: the new premium is then zero.
    /// @return funding The indices as of now and the fund's share of the accrual.
    /// @return premium The new premium (quote per base per day; positive: longs pay).
    /// @return curveCost What the update's repeg and depth change cost the budget ({IAmmCurve});
    /// the ClearingHouse releases as much of the market's locked margin.
    /// @return gainsToCollect What the curve's moves have gained and the budget not yet collected
    /// (0 on a static curve): the ClearingHouse then calls {IAmmCurve-collectGains}.
    function updateFunding(
        uint256 insuranceAvailable,
        bool frozen
    ) external returns (FundingSnapshot memory funding, int256 premium, uint256 curveCost, uint256 gainsToCollect);

    /// @notice Ends funding for good when the market is settled (ClearingHouse only): accrues the
    /// indices to now at the current premium and sets the premium to zero, so they never move again.
    /// @param insuranceAvailable What the insurance fund holds; the accrual draws at most its budget from it.
    /// @return funding The final indices and the fund's share of the last accrual.
    function shutdown(uint256 insuranceAvailable) external returns (FundingSnapshot memory funding);

    /// @notice Reads the oracle and records the index price if it is valid. Anyone may call it;
    /// keepers do, to sample the index between funding updates.
    function pokeIndex() external returns (bool valid, uint256 price);

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
    /// read in the block of a trade averages the blocks before it). 64 observations are kept: the
    /// first trade block of each 30 s bucket (timestamp / 30), each with the price held before it.
    /// The window is exactly the one asked, idle stretches included, except when the asked start
    /// falls in a bucket whose first trade block is at or before it: then it starts at that block,
    /// at most 29 s early. With less history than asked it covers what there is (about 31 minutes
    /// at least for a market that trades continuously).
    function getMarkTwap(uint256 interval) external view returns (uint256);

    /// @notice Time-weighted average of the recorded index price over the last `interval` seconds
    /// (0: the last recorded price), on the same terms as `getMarkTwap`. The index is recorded by
    /// funding updates and pokes, not by trades; between records the last one holds.
    function getIndexTwap(uint256 interval) external view returns (uint256);

    /// @notice The three prices a position is valued at for liquidation, in one call: spot, the mark
    /// TWAP over `twapInterval` (as {getMarkTwap}) and the last index price the market recorded
    /// (funding updates and {pokeIndex} record it; 0 when none was recorded in the last hour).
    function getValuationPrices(
        uint256 twapInterval
    ) external view returns (uint256 spotPrice, uint256 markTwap, uint256 indexPrice);

    /// @notice The most base a position can close now without moving the price more than the
    /// fluctuation limit (less 1% of it, for rounding) from the block's start: base in for a long,
    /// out for a short. Unbounded when the limit is off; 0 when the block has used it up. Liquidations
    /// close no more than this, so a whale is liquidated over several blocks, not through one swing.
    function maxCloseBase(bool closingLong) external view returns (uint256);

    /// @notice {maxCloseBase} for a close the ClearingHouse runs next (a liquidation's second close;
    /// ClearingHouse only): when it is not 0, that close's swap runs no repeg check, so it trades on
    /// the curve it was sized on.
    function holdCurveForClose(bool closingLong) external returns (uint256 maxBase);

    /// @notice The funding indices as they would accrue now, given what the insurance fund holds (it pays
    /// at most its subsidy budget).
    function getFundingIndices(uint256 insuranceAvailable) external view returns (FundingSnapshot memory);

    /// @notice Every market input a liquidation now would be judged and sized on, in one call: the
    /// same figures as {getFundingIndices}(insuranceAvailable), {getValuationPrices}(twapInterval),
    /// {maxCloseBase}(closingLong) and {getReserves}, computed by the same code, on the curve a
    /// liquidation would first repeg to ({repegAndGetLiquidationInputs}; {previewRepeg} shows it):
    /// with a repeg due, its spot, reserves and close bound (the repeg sets the block's reference
    /// price); the mark TWAP, the index and the funding do not move with it.
    /// @param twapInterval The mark TWAP's interval (seconds; 0: the spot price).
    /// @param closingLong Whether the position to close is a long (base goes in) or a short.
    /// @param insuranceAvailable What the insurance fund holds; the accrual draws at most its budget from it.
    function getLiquidationInputs(
        uint256 twapInterval,
        bool closingLong,
        uint256 insuranceAvailable
    ) external view returns (LiquidationInputs memory);

    /// @notice The current premium, when it was set, when funding was last accrued, and the parameters.
    function getFundingState()
        external
        view
        returns (int256 premium, uint256 updatedAt, uint256 accruedAt, FundingParams memory params);

    /// @notice The oracle and the asset key of this market's index.
    function getOracle() external view returns (IPriceFeed priceFeed, bytes32 asset);

    /// @notice Total size of all long positions and of all short positions (both positive).
    function getOpenInterest() external view returns (uint256 longSize, uint256 shortSize);

    /// @notice The market's risk limits.
    function getLimits() external view returns (Limits memory);

    /// @notice The index band: a risk-increasing trade (an open, an increase, a reversal's new leg)
    /// may not leave the spot price further than `indexBandRatio x index` from the market's recorded
    /// index (at most `MAX_INDEX_AGE` old) unless it moves the price toward it; a closing trade that
    /// is its block's first swap may cross the fluctuation limit only on the same terms. 0: off;
    /// no check while no fresh index is recorded.
    function getIndexBand() external view returns (uint256 indexBandRatio);

    /// @notice Sets the index band (owner only): 0 (off) or between MIN_INDEX_BAND and MAX_INDEX_BAND,
    /// a whole number of millionths of the index (1e12; the Amm stores it packed with its limits).
    /// Keep it below initialMarginRatio - maintenanceMarginRatio, so that a trade opened at the edge
    /// of the band is not liquidatable by the index's side of it alone.
    function setIndexBand(uint256 indexBandRatio) external;

    /// @notice The only address allowed to swap.
    function clearingHouse() external view returns (address);

    /// @notice Sets the market's risk limits (owner only). Zero switches a limit off. The ratios are at
    /// most 100% ({RatioTooHigh}), the open interest cap at most 2^104 - 1 ({OpenInterestCapTooHigh}).
    function setLimits(Limits calldata limits) external;

    /// @notice Sets the oracle and asset key the index is read from (owner only).
    function setOracle(IPriceFeed priceFeed, bytes32 asset) external;

    /// @notice Sets the funding parameters (owner only). They apply from the next funding update:
    /// the current period keeps the accrual end it started with.
    function setFundingParams(FundingParams calldata params) external;

    /// @notice The insurance fund's funding subsidy budget: when the receiving side of funding is
    /// owed more than the paying side pays, the fund makes up the difference with at most
    /// `maxFundingSubsidyRatio x insuranceAvailable x seconds accrued / 1 day` per accrual (rounded
    /// down), so a period of T seconds draws at most that fraction x T / 1 day of the fund and a day
    /// of funding at most the fraction, however often updates run; beyond it the receiving side gets
    /// less. The figure set by {setFundingSubsidyRatio}; the current period keeps the one in force
    /// when it opened.
    function getFundingSubsidyRatio() external view returns (uint256 maxFundingSubsidyRatio);

    /// @notice Sets the funding subsidy budget (owner only): a fraction of the insurance fund per day
    /// of funding, 0 (no subsidy: receivers get what payers pay) to MAX_FUNDING_SUBSIDY_RATIO. It
    /// applies from the next funding update.
    function setFundingSubsidyRatio(uint256 maxFundingSubsidyRatio) external;
}
