// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "./IAmm.sol";
import {IClearingHouse} from "./IClearingHouse.sol";

/// @title IClearingHouseViewer
/// @notice Read-only batches over the ClearingHouse for keepers and dApps: one call answers for
/// many (market, trader) pairs. Stateless; every figure is the ClearingHouse's own, read in the
/// same block. Amounts, prices and ratios are 18-decimal fixed point; sizes are signed (+ long).
interface IClearingHouseViewer {
    /// @notice A position's state and risk. An empty position reads all zeros (free collateral
    /// aside) with `liquidatable` false.
    /// @param size Base amount: + long, - short.
    /// @param margin Collateral locked in the position.
    /// @param openNotional Quote cost basis.
    /// @param pendingFunding Funding the position owes now (negative: is owed).
    /// @param unrealizedPnl PnL at the spot price, rounded against the trader.
    /// @param marginRatio (margin - pending funding + PnL) / notional at the spot price, rounded down.
    /// @param liquidationMarginRatio The ratio liquidation is judged by (spot, mark TWAP, index).
    /// @param liquidatable Whether `liquidate` would accept the position now: the liquidation ratio
    /// is below maintenance, the market is listed and not settled, trading is not paused and the
    /// ClearingHouse's sequencer check passes.
    /// @param liquidationPrice The spot price at which the spot margin ratio reaches maintenance,
    /// rounded toward liquidation (up for a long, down for a short). 0 for a long that no price
    /// can liquidate, and for a short that every price liquidates (equity plus notional <= 0).
    /// @param freeCollateral The trader's free collateral in the Vault.
    /// @param claim Profit the trader is owed in this market that its pool could not pay yet
    /// ({IVault-claimOf}); paid in queue order by {IVault-payClaims}.
    /// What a liquidation would close is not estimated here: a `staticCall` of
    /// {IClearingHouse-liquidateWithLimit} runs the liquidation itself and returns it exactly.
    struct PositionView {
        int256 size;
        uint256 margin;
        uint256 openNotional;
        int256 pendingFunding;
        int256 unrealizedPnl;
        int256 marginRatio;
        int256 liquidationMarginRatio;
        bool liquidatable;
        uint256 liquidationPrice;
        uint256 freeCollateral;
        uint256 claim;
    }

    /// @notice What an {IClearingHouse-openPosition} would do now, worked out by the same rules
    /// ({PositionMath}) on the same curve ({CurveMath}) the trade runs.
    /// @param kind OPEN, INCREASE, REDUCE, REVERSE, or CLOSE (a reversal whose rest is dust).
    /// @param baseDelta Change of the trader's size.
    /// @param quoteAmount Quote notional exchanged with the pool.
    /// @param fee Trading fee and spread ({IAmmCurve}), for both legs of a reversal.
    /// @param fundingPayment Pending funding the trade settles: + paid, - received.
    /// @param realizedPnl PnL the trade realises (reduce, close, reversal).
    /// @param freeCollateralDelta What moves to (+) or from (-) the trader's free collateral:
    /// margin and fees in, or a payout out.
    /// @param claim The part of the trade's gain its market's pool cannot pay now, queued as the
    /// trader's claim instead of paid ({PositionMath-deferGain}).
    /// @param size The position's size after the trade.
    /// @param margin Its margin after the trade.
    /// @param openNotional Its open notional after the trade.
    /// @param entryPrice Average price of the trade's base: quote / |base delta| (of the opening
    /// leg's base for a reversal, its notional beyond the exit value).
    /// @param spotPriceAfter The pool's spot price after the trade.
    /// @param marginRatio The position's margin ratio after the trade at that spot (0 when none).
    /// @param liquidationPrice The spot price at which that ratio reaches maintenance (see
    /// {PositionView}).
    struct OpenPreview {
        IClearingHouse.TradeKind kind;
        int256 baseDelta;
        uint256 quoteAmount;
        uint256 fee;
        int256 fundingPayment;
        int256 realizedPnl;
        int256 freeCollateralDelta;
        uint256 claim;
        int256 size;
        uint256 margin;
        uint256 openNotional;
        uint256 entryPrice;
        uint256 spotPriceAfter;
        int256 marginRatio;
        uint256 liquidationPrice;
    }

    /// @notice What an {IClearingHouse-closePosition} would do now (all zero without a position).
    /// @param quoteAmount Quote received closing a long, paid closing a short.
    /// @param fee Trading fee and spread ({IAmmCurve}).
    /// @param fundingPayment Pending funding settled: + paid, - received.
    /// @param realizedPnl PnL realised.
    /// @param payout What returns to free collateral: margin - funding + PnL - fee, less `claim`.
    /// @param claim The part of the gain the market's pool cannot pay now, queued as a claim.
    struct ClosePreview {
        uint256 quoteAmount;
        uint256 fee;
        int256 fundingPayment;
        int256 realizedPnl;
        uint256 payout;
        uint256 claim;
    }

    /// @notice `amms` and `traders` differ in length.
    error LengthMismatch(uint256 amms, uint256 traders);
    /// @notice The zero address given as the ClearingHouse.
    error ZeroAddress();

    /// @notice The ClearingHouse every figure is read from.
    function clearingHouse() external view returns (IClearingHouse);

    /// @notice Reads the positions of `traders[i]` in `amms[i]`, for every i. Never reverts for an
    /// empty position or an unlisted market (zeros, not liquidatable).
    /// @param amms The markets, one per pair.
    /// @param traders The traders, one per pair.
    /// @return views One entry per pair, in order.
    function getPositions(
        address[] calldata amms,
        address[] calldata traders
    ) external view returns (PositionView[] memory views);

    /// @notice One position's view, as in {getPositions}.
    /// @param amm The market.
    /// @param trader The trader.
    /// @return view_ The position's state and risk.
    function getPositionView(address amm, address trader) external view returns (PositionView memory view_);

    /// @notice What `trader` opening `margin x leverage` on `side` in `amm` would do now. Reverts
    /// as the trade would for bad input (with the ClearingHouse's errors: MarketNotListed,
    /// MarketIsSettled, MarketReduceOnly, ZeroAmount, LeverageTooHigh, ZeroNotional,
    /// MarginRatioTooLow, PositionUnderwater) and for too little free collateral
    /// (InsufficientFreeCollateral). It does not check the pause, the sequencer, the deadline or
    /// the market's per-trade, per-block and open-interest limits, which the trade checks when it
    /// runs.
    /// @param amm The market.
    /// @param trader Who would trade.
    /// @param side LONG or SHORT.
    /// @param margin Collateral (18 decimals) behind the notional.
    /// @param leverage Notional / margin (5x = 5e18).
    /// @return preview The trade's kind, amounts and the position after it.
    function previewOpen(
        address amm,
        address trader,
        Side side,
        uint256 margin,
        uint256 leverage
    ) external view returns (OpenPreview memory preview);

    /// @notice What closing `trader`'s whole position in `amm` would pay now; zeros without a
    /// position. Reverts with PositionUnderwater when the close would (the position can only be
    /// liquidated).
    /// @param amm The market.
    /// @param trader The position's owner.
    /// @return preview The close's quote, fee, funding, PnL and payout.
    function previewClose(address amm, address trader) external view returns (ClosePreview memory preview);

    /// @notice The most margin `trader` can remove from its position in `amm` now (see
    /// {IClearingHouse-removeMargin}): 0 without a position.
    /// @param amm The market.
    /// @param trader The position's owner.
    /// @return amount Margin (18 decimals).
    function maxRemovableMargin(address amm, address trader) external view returns (uint256 amount);

    /// @notice The liquidation price of a position (see {PositionView}); 0 for an empty position.
    /// @param amm The market.
    /// @param trader The trader.
    /// @return price The spot price at which its spot margin ratio reaches maintenance.
    function getLiquidationPrice(address amm, address trader) external view returns (uint256 price);

    /// @notice Whether the ClearingHouse's L2 sequencer check passes now (always, without a
    /// sequencer feed): false while the sequencer is down, in its grace period after coming back,
    /// or while its feed cannot answer. Risk-increasing actions and liquidations wait for it.
    function isSequencerUp() external view returns (bool);
}
