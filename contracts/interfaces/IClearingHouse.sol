// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmErrors, Side} from "./IAmm.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IPriceFeedErrors} from "./IPriceFeed.sol";
import {IVault, IVaultErrors} from "./IVault.sol";
import {ISequencerErrors} from "../libraries/SequencerUptime.sol";

/// @title IClearingHouse
/// @notice Positions with isolated margin per (trader, market), against the markets' virtual pools.
/// Amounts and prices are 18-decimal fixed point. Sizes are signed: + long, - short.
/// @dev Inherits the errors of the Amm, the Vault and the price feed: a call to the ClearingHouse
/// can surface any of them, and a client holding this ABI decodes every revert it can see.
interface IClearingHouse is IAmmErrors, IVaultErrors, IPriceFeedErrors, ISequencerErrors {
    /// @notice The modules a ClearingHouse runs by DELEGATECALL, deployed before it (see its constructor).
    struct Modules {
        address admin;
        address liquidation;
        address settlement;
    }

    /// @notice Risk parameters of one market (18-decimal ratios).
    /// @param initialMarginRatio Margin / notional needed to open or grow a position, and after removing margin.
    /// @param maintenanceMarginRatio Margin ratio below which a position can be liquidated; a reduce must keep at least it.
    /// @param feeRatio Trading fee as a fraction of the traded notional, paid to the insurance fund.
    struct MarketParams {
        uint64 initialMarginRatio;
        uint64 maintenanceMarginRatio;
        uint64 feeRatio;
    }

    /// @notice Where a market is in its life. ACTIVE: open to every action. REDUCE_ONLY: a bad debt
    /// the insurance fund could not cover was recorded; positions can only shrink. SETTLED: shut
    /// down at a settlement price; positions can only be settled.
    enum MarketStatus {
        ACTIVE,
        REDUCE_ONLY,
        SETTLED
    }

    /// @notice What an open does to the trader's position. OPEN: there was none. INCREASE: it grows
    /// on its side. REDUCE: it shrinks (notional below its exit value). REVERSE: it is closed and
    /// the rest of the notional opens the other side. CLOSE: a reversal whose rest is too small to
    /// buy a wei of base (see {openPosition}), so it only closes.
    enum TradeKind {
        OPEN,
        INCREASE,
        REDUCE,
        REVERSE,
        CLOSE
    }

    /// @notice What one liquidation did; {liquidate} returns it, so a `staticCall` of it is an
    /// exact preview (keepers build their quote bound from it).
    /// @param baseClosed Size closed (positive).
    /// @param quoteClosed Notional the close exchanged with the pool.
    /// @param liquidatorReward Paid to the liquidator's free collateral.
    /// @param badDebt What the position lost beyond its margin.
    /// @param full Whether the whole position was closed.
    struct LiquidationResult {
        uint256 baseClosed;
        uint256 quoteClosed;
        uint256 liquidatorReward;
        uint256 badDebt;
        bool full;
    }

    /// @notice Liquidation rules shared by every market (18-decimal ratios).
    /// @param feeRatio Penalty as a fraction of the notional a liquidation closes (default 1.25%),
    /// half to the liquidator and half to the insurance fund. Below this margin ratio a liquidation
    /// closes the whole position.
    /// @param partialBuffer A partial liquidation closes as much as brings the margin ratio back to
    /// maintenance plus this buffer (default 2.5%).
    /// @param maxSpreadRatio When the mark is further than this from the index (default 10%), the
    /// position may also be valued at the index.
    /// @param markTwapInterval Seconds of the mark TWAP a position may be valued at (default 900).
    /// @param minPositionNotional A position below this notional (quote, 18 decimals) is closed
    /// whole, and a partial liquidation never leaves less (default 10).
    struct LiquidationParams {
        uint64 feeRatio;
        uint64 partialBuffer;
        uint64 maxSpreadRatio;
        uint32 markTwapInterval;
        uint256 minPositionNotional;
    }

    /// @notice A market shut down by the owner, and how far its positions have been settled.
    /// @param price The settlement price (the index TWAP when it was shut down).
    /// @param longIndex The long side's final funding index.
    /// @param shortIndex The short side's final funding index.
    /// @param openLong Total long size when it was shut down.
    /// @param openShort Total short size when it was shut down.
    /// @param recordedLong Long size whose claims have been recorded so far.
    /// @param recordedShort Short size whose claims have been recorded so far.
    /// @param poolValue What the market's own pool in the Vault held for its positions when it was
    /// shut down: the whole pool less the claims already queued against it (those are paid first).
    /// @param claims The recorded positions' values (margin - funding + PnL at the price), zero for
    /// a position worth less than nothing; paid pro rata when they exceed `poolValue`.
    struct Settlement {
        uint256 price;
        int256 longIndex;
        int256 shortIndex;
        uint256 openLong;
        uint256 openShort;
        uint256 recordedLong;
        uint256 recordedShort;
        int256 poolValue;
        uint256 claims;
    }

    /// @notice A trader's position in one market.
    /// @param size Base amount: + long, - short.
    /// @param margin Collateral locked in the position, realised PnL included.
    /// @param openNotional Quote cost basis of the position (average entry price x |size|).
    /// @param fundingCheckpoint The market's funding index for the position's side when its
    /// funding was last settled (see {IAmm}).
    struct Position {
        int256 size;
        uint256 margin;
        uint256 openNotional;
        int256 fundingCheckpoint;
    }

    /// @notice A position changed through a trade. Carries the new state, so an indexer can rebuild it.
    /// @param baseDelta Change of the trader's size.
    /// @param quoteAmount Quote notional exchanged with the pool.
    /// @param realizedPnl PnL realised into margin or payout by this trade.
    /// @param fee Fee paid to the insurance fund.
    /// @param fundingPayment Funding the position settled with this trade: + paid, - received.
    /// @param freeCollateralDelta Change of the trader's free collateral in the Vault.
    /// @param size New size (0 once closed).
    /// @param margin New margin.
    /// @param openNotional New open notional.
    event PositionChanged(
        address indexed trader,
        address indexed amm,
        int256 baseDelta,
        uint256 quoteAmount,
        int256 realizedPnl,
        uint256 fee,
        int256 fundingPayment,
        int256 freeCollateralDelta,
        int256 size,
        uint256 margin,
        uint256 openNotional
    );
    /// @notice Margin was moved between free collateral and a position: + added, - removed.
    event MarginChanged(address indexed trader, address indexed amm, int256 amount, uint256 margin);
    /// @notice A market was listed.
    event MarketAdded(address indexed amm, MarketParams params);
    /// @notice A market's risk parameters changed.
    event MarketParamsUpdated(address indexed amm, MarketParams params);
    /// @notice `contributor` moved `amount` of free collateral into the market's pool for its AMM
    /// budget ({IAmmCurve}).
    event BudgetContributed(address indexed contributor, address indexed amm, uint256 amount);
    /// @notice The one-time link to the Vault was made.
    event VaultSet(address vault);
    /// @notice Trading was stopped by `account`.
    event Paused(address account);
    /// @notice Trading was resumed by `account`.
    event Unpaused(address account);
    /// @notice The sequencer's grace period was set, in seconds.
    event SequencerGracePeriodSet(uint256 gracePeriod);

    /// @notice A position was liquidated by `liquidator`.
    /// @param baseClosed Size closed (positive).
    /// @param quoteClosed Notional the close exchanged with the pool.
    /// @param liquidatorReward Paid to the liquidator's free collateral.
    /// @param insurancePenalty The insurance fund's half of the penalty.
    /// @param badDebt What the position lost beyond its margin.
    /// @param shortfall The part of the bad debt the insurance fund could not cover.
    /// @param full Whether the whole position was closed.
    event PositionLiquidated(
        address indexed trader,
        address indexed amm,
        address indexed liquidator,
        uint256 baseClosed,
        uint256 quoteClosed,
        uint256 liquidatorReward,
        uint256 insurancePenalty,
        uint256 badDebt,
        uint256 shortfall,
        bool full
    );
    /// @notice Part of a liquidation's bad debt (`amount`) came from an execution worse than the
    /// fair price (a spot pushed from the index, the close's price impact): the insurance fund does
    /// not cover it; the market's pool is that much short, so its winners' claims wait for it.
    event BadDebtChargedToMarket(address indexed amm, address indexed trader, uint256 amount);
    /// @notice The insurance fund could not cover a bad debt: the market is now reduce-only.
    event ShortfallRecorded(address indexed amm, uint256 shortfall, uint256 totalShortfall);
    /// @notice The liquidation rules changed.
    event LiquidationParamsUpdated(LiquidationParams params);
    /// @notice The owner shut a market down at `price`.
    event MarketSettled(address indexed amm, uint256 price, uint256 openLong, uint256 openShort);
    /// @notice A position in a settled market was valued at the settlement price: `claim` is owed.
    event SettlementRecorded(address indexed trader, address indexed amm, uint256 claim);
    /// @notice A settled position was paid `payout` (its claim, pro rata if the market is short).
    event SettlementPaid(address indexed trader, address indexed amm, uint256 payout);

    /// @notice The Vault may be linked only once.
    error VaultAlreadySet(address vault);
    /// @notice The Vault answers to another ClearingHouse.
    error VaultNotBoundToThisClearingHouse(address vault, address boundTo);
    /// @notice No Vault is linked yet.
    error VaultNotSet();
    /// @notice The action needs trading to be live, and it is paused.
    error EnforcedPause();
    /// @notice Unpausing when not paused.
    error ExpectedPause();
    /// @notice The market is not listed.
    error MarketNotListed(address amm);
    /// @notice The market is listed already.
    error MarketAlreadyListed(address amm);
    /// @notice The Amm answers to another ClearingHouse.
    error AmmNotBoundToThisClearingHouse(address amm, address boundTo);
    /// @notice Margin ratios out of order: need 0 < maintenance < initial <= 100%.
    error InvalidMarginRatios(uint256 initialMarginRatio, uint256 maintenanceMarginRatio);
    /// @notice The fee ratio is above the maximum.
    error FeeRatioTooHigh(uint256 feeRatio, uint256 maxFeeRatio);
    /// @notice The deadline has passed.
    error DeadlineExpired(uint256 deadline, uint256 timestamp);
    /// @notice Leverage of zero, or margin x leverage rounds to zero notional.
    error ZeroNotional();
    /// @notice Leverage above 1 / initialMarginRatio.
    error LeverageTooHigh(uint256 leverage, uint256 maxLeverage);
    /// @notice The trader has no position in the market.
    error NoPosition(address trader, address amm);
    /// @notice The base received (long) is below, or the base given (short) is above, the trader's bound.
    error BaseLimitMissed(uint256 baseAmount, uint256 baseLimit);
    /// @notice The quote received (closing a long) is below, or paid (closing a short) above, the bound.
    error QuoteLimitMissed(uint256 quoteAmount, uint256 quoteLimit);
    /// @notice The position's margin ratio is below what the action needs.
    error MarginRatioTooLow(int256 marginRatio, uint256 requiredRatio);
    /// @notice Margin plus PnL minus fee is negative: the position can only be liquidated.
    error PositionUnderwater(int256 remainingMargin);
    /// @notice Removing more margin than the position can release.
    error InsufficientMargin(uint256 margin, uint256 requested);
    /// @notice The position's liquidation margin ratio is at or above maintenance.
    error NotLiquidatable(int256 marginRatio, uint256 maintenanceMarginRatio);
    /// @notice The market's price moved as far as its fluctuation limit allows in this block: liquidate in the next.
    error LiquidationLimitReached(address amm);
    /// @notice A trader cannot liquidate their own position.
    error SelfLiquidation();
    /// @notice The market is reduce-only after an uncovered bad debt: positions can only shrink.
    error MarketReduceOnly(address amm);
    /// @notice The market has not been settled.
    error MarketNotSettled(address amm);
    /// @notice No valid index TWAP to settle the market at.
    error NoSettlementPrice(address amm);
    /// @notice The index TWAP a market would settle at is not backed by the index now: the oracle
    /// gives no valid price (`indexPrice` 0), or its price is more than the settlement's drift
    /// bound away from the TWAP (the history holds an old record). Poke the index (`pokeIndex`)
    /// over the TWAP window, then settle.
    error SettlementIndexStale(address amm, uint256 indexTwap, uint256 indexPrice);
    /// @notice The position's settlement claim cannot be paid before every position has been recorded.
    error SettlementIncomplete(uint256 recordedLong, uint256 openLong, uint256 recordedShort, uint256 openShort);
    /// @notice Liquidation parameters out of bounds.
    error InvalidLiquidationParams();
    /// @notice A reduce of more base than the position holds (also an `openPosition` against the
    /// position whose notional, after a repeg its swap ran first, buys back more than the position).
    error ReduceExceedsPosition(uint256 baseAmount, uint256 positionSize);
    /// @notice A constructor's module is not a module of the kind its place needs, built with the
    /// same sequencer feed.
    error InvalidModule(address module);

    /// @notice Opens, increases, reduces or reverses the caller's position with notional
    /// `margin x leverage`. On the position's side (or with none) it adds exposure and locks
    /// `margin` plus the fee from free collateral. On the other side it reduces, closes or, when the
    /// notional exceeds the position's exit value, reverses with margin = rest / leverage (a rest too
    /// small to buy one wei of base is not traded). A position may grow only if it meets the initial
    /// margin ratio at the spot price before the trade; after a reduce it must meet the maintenance
    /// margin ratio at the spot price.
    /// @param amm The market.
    /// @param side LONG or SHORT.
    /// @param margin Collateral (18 decimals) behind the notional.
    /// @param leverage Notional / margin (5x = 5e18), at most 1 / initialMarginRatio.
    /// @param baseLimit LONG: minimum base received; SHORT: maximum base given; 0 = no bound.
    /// @param deadline Latest timestamp at which the trade may execute.
    function openPosition(
        address amm,
        Side side,
        uint256 margin,
        uint256 leverage,
        uint256 baseLimit,
        uint256 deadline
    ) external;

    /// @notice Closes the funding window of `amm`: accrues funding to now, sets the premium for the
    /// next window from this one's mark and index TWAPs, and moves the insurance fund's share of
    /// the accrual. Anyone may call it, once per `minUpdateInterval` per market (the Amm reverts
    /// earlier with {IAmm.FundingUpdateTooEarly}). While paused the new premium is zero.
    function updateFunding(address amm) external;

    /// @notice Closes the caller's whole position; margin - funding + PnL - fee returns to free collateral.
    /// @param amm The market.
    /// @param quoteLimit Closing a long: minimum quote received; a short: maximum quote paid; 0 = none.
    /// @param deadline Latest timestamp at which the close may execute.
    function closePosition(address amm, uint256 quoteLimit, uint256 deadline) external;

    /// @notice Closes `baseAmount` of the caller's position (a direct partial close; all of it is a
    /// close): realises that part's PnL, settles the position's funding and the fee into margin;
    /// the rest keeps its margin and must meet the maintenance margin ratio at the spot price. Stays
    /// open while the sequencer is down and in a reduce-only market, like every risk-reducing trade.
    /// @param amm The market.
    /// @param baseAmount Base to close, at most |size|.
    /// @param quoteLimit Reducing a long: minimum quote received; a short: maximum quote paid; 0 = none.
    /// @param deadline Latest timestamp at which the trade may execute.
    function reducePosition(address amm, uint256 baseAmount, uint256 quoteLimit, uint256 deadline) external;

    /// @notice Liquidates `trader`'s position in `amm` when its liquidation margin ratio is below
    /// maintenance. That ratio is (margin - pending funding + PnL) / notional at whichever of the
    /// spot price and the mark TWAP favours the trader, or at the index (the market's last recorded
    /// index, see {IAmm.getValuationPrices}) if the spot is more than `maxSpreadRatio` from it and the
    /// index favours the trader more, so one block's trades cannot make a position liquidatable. Closes as much as brings the ratio back to maintenance plus
    /// `partialBuffer`, or the whole position when its ratio is below `feeRatio` or what would remain
    /// is under `minPositionNotional`; never more than the pool can take within its fluctuation limit
    /// in this block ({IAmm.maxCloseBase}), so a large position is liquidated over several blocks. The penalty (closed notional x `feeRatio`, bounded by what the
    /// position has left) goes half to the caller, half to the insurance fund; a loss beyond the
    /// margin is paid by the fund (then the caller's reward too), and what the fund cannot pay is
    /// recorded as the market's shortfall, which makes the market reduce-only. A realised profit
    /// the market's pool cannot pay never pays the penalty: the fund's half beyond the position's own
    /// money waits as the fund's receivable, the caller's beyond that as the caller's claim.
    function liquidate(address amm, address trader) external returns (LiquidationResult memory);

    /// @notice {liquidate} with the caller's bound on the close: quoteLimit is the minimum quote
    /// received when closing a long, the maximum paid when closing a short (0 = none).
    function liquidateWithLimit(
        address amm,
        address trader,
        uint256 quoteLimit,
        uint256 deadline
    ) external returns (LiquidationResult memory);

    /// @notice Shuts `amm` down at its index TWAP over the settlement window (owner only): trading and
    /// funding stop, and every position is then settled at that price by {settlePosition}. Reverts
    /// with the Amm's `NoIndexPrice` when the market never recorded an index. The index is refreshed
    /// first (the Amm's `pokeIndex`), and the TWAP must be backed by it: reverts with
    /// `SettlementIndexStale` when the oracle has no valid price now, or when its price is more
    /// than the settlement's drift bound from the TWAP (a TWAP of an old record, not of the index).
    function settleMarket(address amm) external;

    /// @notice Settles a position of a shut-down market; anyone may call it for anyone. The first
    /// call for a position records its claim (margin - funding + PnL at the settlement price, at
    /// least 0). Once every position of the market is recorded, a call pays the claim to the trader's
    /// free collateral (the call that records the last position pays it at once), scaled down pro
    /// rata if the claims exceed what the market's pool holds (see {Settlement}); what it holds
    /// beyond the claims goes to the insurance fund.
    function settlePosition(address amm, address trader) external;

    /// @notice Moves `amount` (18 decimals) of free collateral into the caller's position margin.
    function addMargin(address amm, uint256 amount) external;

    /// @notice Moves `amount` (18 decimals) of margin back to free collateral. The position, valued
    /// at its exit value (what closing it now would realise) with unrealised profit left out, must
    /// keep the initial margin ratio.
    function removeMargin(address amm, uint256 amount) external;

    /// @notice The Chainlink L2 sequencer uptime feed (answer 0 = up, 1 = down) whose status gates
    /// actions (address(0): none, as on L1), read directly ({SequencerUptime}). While the sequencer
    /// is down, and for {sequencerGracePeriod} after it comes back, opening, increasing and
    /// reversing a position, removing margin and liquidating revert (SequencerDown,
    /// GracePeriodNotOver, SequencerRoundNotInitialized; a feed that cannot answer reads as down):
    /// prices may be stale and traders who cannot reach the chain cannot defend themselves.
    /// Reducing and closing a position, adding margin, deposits and withdrawals of free collateral
    /// stay open, so nobody is locked out of reducing risk.
    function sequencerFeed() external view returns (AggregatorV3Interface);

    /// @notice Seconds after the sequencer comes back up during which the gated actions still
    /// revert (GracePeriodNotOver); 1 hour until the owner sets it.
    function sequencerGracePeriod() external view returns (uint256);

    /// @notice The trader's position (zeros when none).
    function getPosition(address amm, address trader) external view returns (Position memory);

    /// @notice PnL at the spot price: |size| x spot minus open notional for a long, the reverse for
    /// a short, rounded against the trader. Closing realises less by its own price impact (see
    /// {IAmm.previewSwapBase}) and the fee.
    function getUnrealizedPnl(address amm, address trader) external view returns (int256);

    /// @notice (margin - pending funding + unrealised PnL) / (|size| x spot price), 18 decimals,
    /// rounded down; 0 for no position (every view answers an empty position with zeros).
    function getMarginRatio(address amm, address trader) external view returns (int256);

    /// @notice Funding the position owes now (negative: is owed), settled at its next trade.
    /// The position's equity is margin - pending funding + unrealised PnL.
    function getPendingFunding(address amm, address trader) external view returns (int256);

    /// @notice The margin ratio that decides liquidation (see {liquidate}), 18 decimals, rounded
    /// down; 0 for no position.
    function getLiquidationMarginRatio(address amm, address trader) external view returns (int256);

    /// @notice The rules every liquidation follows.
    function getLiquidationParams() external view returns (LiquidationParams memory);

    /// @notice The market's status and its recorded uncovered bad debt.
    function getMarketStatus(address amm) external view returns (MarketStatus status, uint256 shortfall);

    /// @notice The settlement of a shut-down market (all zero before).
    function getSettlement(address amm) external view returns (Settlement memory);

    /// @notice The market's risk parameters; all zero if not listed.
    function getMarketParams(address amm) external view returns (MarketParams memory);

    /// @notice Whether the market is listed.
    function isMarketListed(address amm) external view returns (bool);

    /// @notice The Vault holding collateral.
    function vault() external view returns (IVault);

    /// @notice Whether trading is paused.
    function paused() external view returns (bool);

    /// @notice Links the Vault, once (owner only). The Vault must name this ClearingHouse.
    function setVault(IVault vault) external;

    /// @notice Binds the insurance fund contract to the Vault's insurance account, once (owner only).
    function setInsuranceFund(address fund) external;

    /// @notice Lists a market (owner only, after the Vault is linked). The Amm must name this ClearingHouse.
    function addMarket(address amm, MarketParams calldata params) external;

    /// @notice Changes a market's risk parameters (owner only).
    function setMarketParams(address amm, MarketParams calldata params) external;

    /// @notice Moves `amount` of the caller's free collateral into the market's pool as locked
    /// margin and credits it to the market's AMM budget ({IAmmCurve-creditBudget}), which pays the
    /// curve's repegs and depth changes and backs its vAMM leverage. Anyone may contribute; the
    /// money is the market's from then on (at settlement it is pool money like any surplus).
    /// @param amm A listed market that is not settled.
    /// @param amount Quote to contribute (positive).
    function contributeToBudget(address amm, uint256 amount) external;

    /// @notice Changes the liquidation rules (owner only): feeRatio up to 10%, partialBuffer up to
    /// 20%, maxSpreadRatio 1% to 50%, markTwapInterval 1 minute to 1 hour, minPositionNotional a
    /// whole number of quote units below 2^32 (the rules are packed in one storage slot).
    function setLiquidationParams(LiquidationParams calldata params) external;

    /// @notice Stops every trading and margin action (owner only).
    function pause() external;

    /// @notice Resumes trading (owner only).
    function unpause() external;

    /// @notice Sets the sequencer's grace period (owner only), in seconds, within 10 minutes to
    /// 1 day (else GracePeriodOutOfBounds).
    function setSequencerGracePeriod(uint256 gracePeriod) external;
}
