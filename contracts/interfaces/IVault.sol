// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ICommonErrors} from "./ICommonErrors.sol";

/// @title IVaultErrors
/// @notice The errors the Vault raises; {IClearingHouse} inherits them, as its calls can surface them.
interface IVaultErrors is ICommonErrors {
    /// @notice Caller is not the insurance fund contract (or none is set).
    error OnlyInsuranceFund(address caller);
    /// @notice The insurance fund contract is already set.
    error InsuranceFundAlreadySet(address insuranceFund);
    /// @notice The insurance account (18 decimals) cannot pay what the action needs.
    error InsufficientInsuranceFund(uint256 available, uint256 needed);
    /// @notice The token's decimals are outside 6..18.
    error UnsupportedDecimals(uint8 decimals);
    /// @notice The vault received a different amount than was sent (fee-on-transfer or rebasing token).
    error UnsupportedTransferAmount(uint256 expected, uint256 received);
    /// @notice A trader's free collateral (18 decimals) is below what the action needs.
    error InsufficientFreeCollateral(address trader, uint256 available, uint256 needed);
    /// @notice The margin pool (18 decimals) cannot pay what the action needs.
    error InsufficientMarginPool(uint256 available, uint256 needed);
}

/// @title IVault
/// @notice Custody of the collateral token and the ledger of who owns it. Internally every balance
/// is 18-decimal; token units appear only in `deposit`, `depositFor`, `withdraw` and `balanceOf`.
/// The ledger has three kinds of account: each trader's free collateral, the margin pool (every
/// open position's margin, owned by the ClearingHouse) and the insurance fund. Only the
/// ClearingHouse moves value between them; the token balance always covers their sum.
interface IVault is IVaultErrors {
    /// @notice `amount` tokens (token units) were deposited by `from` to `trader`'s free collateral.
    event Deposited(address indexed from, address indexed trader, uint256 amount);
    /// @notice `trader` withdrew `amount` tokens (token units) of free collateral.
    event Withdrawn(address indexed trader, uint256 amount);
    /// @notice The insurance fund contract that owns the insurance account was set (once).
    event InsuranceFundSet(address indexed insuranceFund);
    /// @notice The insurance fund contract deposited `amount` tokens (token units) to its account.
    event InsuranceDeposited(uint256 amount);
    /// @notice The insurance fund contract withdrew `amount` tokens (token units) to `to`.
    event InsuranceWithdrawn(address indexed to, uint256 amount);

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

    /// @notice The insurance fund contract (ERC4626) that owns the insurance account; zero until set.
    function insuranceFund() external view returns (address);

    /// @notice The insurance account in token units, rounded down (what the fund contract can withdraw).
    function insuranceFundBalance() external view returns (uint256);

    /// @notice Moves value for a position change (ClearingHouse only), all in 18 decimals: the
    /// trader's free collateral changes by `freeCollateralDelta` and the insurance account by
    /// `insuranceFundDelta`; the margin pool takes the other side of both.
    /// @dev Reverts if the trader's free collateral, the insurance account or the margin pool
    /// would go below zero. The fund pays in before the pool pays out.
    function settle(address trader, int256 freeCollateralDelta, int256 insuranceFundDelta) external;

    /// @notice Binds the insurance fund contract, once (ClearingHouse only, on its owner's call).
    function setInsuranceFund(address fund) external;

    /// @notice Moves `amount` tokens (token units) from the insurance fund contract into its
    /// account (insurance fund contract only).
    function depositInsurance(uint256 amount) external;

    /// @notice Pays `amount` tokens (token units) of the insurance account to `to` (insurance fund
    /// contract only: a staker's completed withdrawal).
    function withdrawInsurance(address to, uint256 amount) external;
}
