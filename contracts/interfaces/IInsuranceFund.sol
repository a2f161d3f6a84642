// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IVault} from "./IVault.sol";

/// @title IInsuranceFund
/// @notice The staked insurance fund: an ERC4626 vault over the collateral token whose assets are
/// the Vault's insurance account. Stakers earn what the ClearingHouse pays into that account
/// (fees, liquidation penalties, funding income) and bear what it pays out (bad debt, funding).
/// @dev Deposits (`deposit`, `mint`) are standard. Exits are not: shares leave only through
/// `requestRedeem`, a cooldown, then `completeRedeem`, which pays the lower of the value at the
/// request and the value at completion. The standard `withdraw` and `redeem` always revert
/// (`maxWithdraw` and `maxRedeem` return 0), so nobody can leave ahead of a loss they see coming.
interface IInsuranceFund is IERC4626 {
    /// @notice An account's open redeem request.
    /// @param shares The shares held in escrow by the fund.
    /// @param assetsAtRequest What the shares were worth at the request (token units, rounded down):
    /// the most the request can pay.
    /// @param unlockAt The earliest timestamp at which the request can be completed.
    struct RedeemRequest {
        uint256 shares;
        uint128 assetsAtRequest;
        uint64 unlockAt;
    }

    /// @notice `owner` moved `shares` into escrow, worth `assets` now, redeemable from `unlockAt`.
    event RedeemRequested(address indexed owner, uint256 shares, uint256 assets, uint256 unlockAt);
    /// @notice `owner` cancelled their request and got their `shares` back.
    event RedeemCancelled(address indexed owner, uint256 shares);
    /// @notice `owner`'s request completed: `shares` burned and `assets` paid to `receiver`.
    event RedeemCompleted(address indexed owner, address indexed receiver, uint256 shares, uint256 assets);
    /// @notice The cooldown for new requests changed from `oldCooldown` to `newCooldown` seconds.
    event CooldownSet(uint256 oldCooldown, uint256 newCooldown);

    /// @notice A zero address was passed to the constructor.
    error ZeroAddress();
    /// @notice The Vault's collateral token is not the fund's asset.
    error AssetMismatch(address asset, address vaultCollateral);
    /// @notice A deposit or mint of zero assets.
    error ZeroAssets();
    /// @notice Zero shares: a zero request, or a deposit too small to mint a single share.
    error ZeroShares();
    /// @notice A zero receiver.
    error ZeroReceiver();
    /// @notice `owner` already has an open request (one per account; cancel it to change it).
    error RedeemRequestOpen(address owner, uint256 shares, uint256 unlockAt);
    /// @notice `owner` has no open request.
    error NoRedeemRequest(address owner);
    /// @notice The request cannot be completed before `unlockAt`.
    error CooldownNotElapsed(uint256 unlockAt);
    /// @notice A cooldown outside [MIN_COOLDOWN, MAX_COOLDOWN].
    error CooldownOutOfRange(uint256 cooldown);

    /// @notice Moves `shares` of the caller into escrow and starts the cooldown. The request will
    /// pay at most what the shares are worth now, so requesting early gains nothing, and a loss
    /// during the cooldown still hits the shares.
    /// @dev Reverts with ZeroShares, RedeemRequestOpen if the caller has an open request, or
    /// ERC20InsufficientBalance if the caller holds fewer shares.
    /// @return assets What the shares are worth now (token units, rounded down): the request's cap.
    /// @return unlockAt The timestamp from which `completeRedeem` succeeds.
    function requestRedeem(uint256 shares) external returns (uint256 assets, uint256 unlockAt);

    /// @notice Cancels the caller's open request and returns the escrowed shares.
    /// @dev Reverts with NoRedeemRequest.
    /// @return shares The shares returned.
    function cancelRedeem() external returns (uint256 shares);

    /// @notice Completes the caller's request once the cooldown is over: burns the escrowed shares
    /// and pays `receiver` the lower of the value at the request and the value now. When the value
    /// rose, the difference stays in the fund for the other stakers.
    /// @dev Reverts with ZeroReceiver, NoRedeemRequest or CooldownNotElapsed. If the shares are
    /// worth nothing (the fund was wiped out) they are burned and nothing is paid. A request has no
    /// expiry: a staker who keeps an unlocked request open forgoes all income meanwhile but can
    /// complete ahead of a loss that is not yet settled.
    /// @return assets The token units paid to `receiver`.
    function completeRedeem(address receiver) external returns (uint256 assets);

    /// @notice Sets the cooldown for new requests; open requests keep their unlock time (owner only).
    /// @dev Reverts with CooldownOutOfRange outside [MIN_COOLDOWN, MAX_COOLDOWN].
    function setCooldown(uint256 newCooldown) external;

    /// @notice The Vault whose insurance account holds the fund's assets.
    function vault() external view returns (IVault);

    /// @notice The cooldown (seconds) between a request and its completion, for new requests.
    function cooldown() external view returns (uint256);

    /// @notice The shortest cooldown the owner can set.
    function MIN_COOLDOWN() external view returns (uint256);

    /// @notice The longest cooldown the owner can set.
    function MAX_COOLDOWN() external view returns (uint256);

    /// @notice `owner`'s open request; all zero when there is none.
    function redeemRequest(address owner) external view returns (RedeemRequest memory);
}
