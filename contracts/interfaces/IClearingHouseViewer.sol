// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

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
    /// @param closeBase If liquidatable: the base a liquidation would close now (0 otherwise).
    /// @param closeQuote If liquidatable: the quote that close would exchange with the pool now,
    /// received when closing a long, paid when closing a short (0 otherwise).
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
        uint256 closeBase;
        uint256 closeQuote;
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

    /// @notice The liquidation price of a position (see {PositionView}); 0 for an empty position.
    /// @param amm The market.
    /// @param trader The trader.
    /// @return price The spot price at which its spot margin ratio reaches maintenance.
    function getLiquidationPrice(address amm, address trader) external view returns (uint256 price);
}
