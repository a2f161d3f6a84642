// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IVault
/// @notice Custody of the collateral token and the ledger of who owns it. Internally every balance
/// is 18-decimal; token units appear only in `deposit`, `depositFor`, `withdraw` and `balanceOf`.
/// The ledger has three kinds of account: each trader's free collateral, the margin pool (every
/// open position's margin, owned by the ClearingHouse) and the insurance fund. Only the
/// ClearingHouse moves value between them; the token balance always covers their sum.
interface IVault {
    /// @notice `amount` tokens (token units) were deposited by `from` to `trader`'s free collateral.
    event Deposited(address indexed from, address indexed trader, uint256 amount);
    /// @notice `trader` withdrew `amount` tokens (token units) of free collateral.
    event Withdrawn(address indexed trader, uint256 amount);

    /// @notice Caller is not the ClearingHouse.
    error OnlyClearingHouse(address caller);
    /// @notice A zero address where one is needed.
    error ZeroAddress();
    /// @notice A zero amount.
    error ZeroAmount();
    /// @notice The token's decimals are outside 6..18.
    error UnsupportedDecimals(uint8 decimals);
    /// @notice The vault received a different amount than was sent (fee-on-transfer or rebasing token).
    error UnsupportedTransferAmount(uint256 expected, uint256 received);
    /// @notice A trader's free collateral (18 decimals) is below what the action needs.
    error InsufficientFreeCollateral(address trader, uint256 available, uint256 needed);
    /// @notice The margin pool (18 decimals) cannot pay what the action needs.
    error InsufficientMarginPool(uint256 available, uint256 needed);

    /// @notice Deposits `amount` tokens (token units) to the caller's free collateral.
    function deposit(uint256 amount) external;

    /// @notice Deposits `amount` tokens (token units) from the caller to `trader`'s free collateral.
    function depositFor(address trader, uint256 amount) external;

    /// @notice Withdraws `amount` tokens (token units) of the caller's free collateral.
    function withdraw(uint256 amount) external;

    /// @notice Free collateral of `trader` in token units, rounded down.
    function balanceOf(address trader) external view returns (uint256);

    /// @notice Free collateral of `trader` in 18 decimals (exact).
    function freeCollateral(address trader) external view returns (uint256);

    /// @notice The margin pool and insurance fund balances, in 18 decimals.
    function getPoolBalances() external view returns (uint256 marginPool, uint256 insuranceFund);

    /// @notice The collateral token.
    function collateralToken() external view returns (address);

    /// @notice The ClearingHouse, the only account allowed to call `settle`.
    function clearingHouse() external view returns (address);

    /// @notice Moves value for a position change (ClearingHouse only), all in 18 decimals:
    /// the trader's free collateral changes by `freeCollateralDelta`, the insurance fund receives
    /// `fee`, and the margin pool pays both (so it receives when `freeCollateralDelta` is negative).
    /// @dev Reverts if the trader's free collateral or the margin pool would go below zero.
    function settle(address trader, int256 freeCollateralDelta, uint256 fee) external;
}
