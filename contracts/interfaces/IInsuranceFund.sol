// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IVault} from "./IVault.sol";

/// @title IInsuranceFund
/// @notice The staked insurance fund: an ERC4626 vault over the collateral token whose assets are
/// the Vault's insurance account. Stakers earn what the ClearingHouse pays into that account
/// (fees, liquidation penalties, funding income) and bear what it pays out (bad debt, funding).
/// @dev Deposits (`deposit`, `mint`) are standard. Exits are not: shares leave only through
/// `requestRedeem`, a cooldown, then `completeRedeem` within the redeem window that follows it,
/// which pays the lower of the value at the request and the value at completion. A request not
/// completed in its window lapses (as the unstake window of Aave's safety module), so nobody can
/// hold a matured request armed and leave ahead of a loss they see coming. The standard `withdraw`
/// and `redeem` always revert (`maxWithdraw` and `maxRedeem` return 0).
interface IInsuranceFund is IERC4626 {
    /// @notice An account's open redeem request.
    /// @param shares The shares held in escrow by the fund.
    /// @param assetsAtRequest What the shares were worth at the request (token units, rounded down):
    /// the most the request can pay.
    /// @param unlockAt The earliest timestamp at which the request can be completed.
    /// @param expiresAt The last timestamp at which the request can be completed (`unlockAt` plus
    /// the redeem window at the request); after it the request has lapsed.
    struct RedeemRequest {
        uint256 shares;
        uint128 assetsAtRequest;
        uint64 unlockAt;
        uint64 expiresAt;
    }

    /// @notice `owner` moved `shares` into escrow, worth `assets` now, redeemable from `unlockAt`
    /// to `expiresAt` (both included).
    event RedeemRequested(address indexed owner, uint256 shares, uint256 assets, uint256 unlockAt, uint256 expiresAt);
    /// @notice `owner` got the `shares` of their request back: a cancel, or a lapsed request
    /// replaced by a new one.
    event RedeemCancelled(address indexed owner, uint256 shares);
    /// @notice `owner`'s request completed: `shares` burned and `assets` paid to `receiver`.
    event RedeemCompleted(address indexed owner, address indexed receiver, uint256 shares, uint256 assets);
    /// @notice The cooldown for new requests changed from `oldCooldown` to `newCooldown` seconds.
    event CooldownSet(uint256 oldCooldown, uint256 newCooldown);
    /// @notice The redeem window for new requests changed from `oldWindow` to `newWindow` seconds.
    event RedeemWindowSet(uint256 oldWindow, uint256 newWindow);

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
    /// @notice `owner` already has a request that has not lapsed (one per account; cancel it to
    /// change it).
    error RedeemRequestOpen(address owner, uint256 shares, uint256 unlockAt);
    /// @notice `owner` has no open request.
    error NoRedeemRequest(address owner);
    /// @notice The request cannot be completed before `unlockAt`.
    error CooldownNotElapsed(uint256 unlockAt);
    /// @notice The request lapsed at `expiresAt` (the end of its redeem window); a new request
    /// replaces it with a new cooldown.
    error RedeemRequestExpired(uint256 expiresAt);
    /// @notice A cooldown outside [MIN_COOLDOWN, MAX_COOLDOWN].
    error CooldownOutOfRange(uint256 cooldown);
    /// @notice A redeem window outside [MIN_REDEEM_WINDOW, MAX_REDEEM_WINDOW].
    error RedeemWindowOutOfRange(uint256 window);

    /// @notice Moves `shares` of the caller into escrow and starts the cooldown. The request will
    /// pay at most what the shares are worth now, so requesting early gains nothing, and a loss
    /// during the cooldown still hits the shares. The request can be completed from `unlockAt` to
    /// `unlockAt + redeemWindow`; after that it lapses. A lapsed request is replaced: its shares
    /// come back to the caller (RedeemCancelled) before the new request takes `shares`.
    /// @dev Reverts with ZeroShares, RedeemRequestOpen if the caller has a request that has not
    /// lapsed, or ERC20InsufficientBalance if the caller holds fewer shares.
    /// @return assets What the shares are worth now (token units, rounded down): the request's cap.
    /// @return unlockAt The timestamp from which `completeRedeem` succeeds (until the window ends).
    function requestRedeem(uint256 shares) external returns (uint256 assets, uint256 unlockAt);

    /// @notice Cancels the caller's request (lapsed or not) and returns the escrowed shares.
    /// @dev Reverts with NoRedeemRequest.
    /// @return shares The shares returned.
    function cancelRedeem() external returns (uint256 shares);

    /// @notice Completes the caller's request once the cooldown is over and before its window ends:
    /// burns the escrowed shares and pays `receiver` the lower of the value at the request and the
    /// value now. When the value rose, the difference stays in the fund for the other stakers.
    /// @dev Reverts with ZeroReceiver, NoRedeemRequest, CooldownNotElapsed before `unlockAt`, or
    /// RedeemRequestExpired after `expiresAt`: a request cannot be held armed past its window to
    /// complete ahead of a loss that is not yet settled (the shares stay in escrow until a cancel or
    /// a new request). If the shares are worth nothing (the fund was wiped out) they are burned and
    /// nothing is paid.
    /// @return assets The token units paid to `receiver`.
    function completeRedeem(address receiver) external returns (uint256 assets);

    /// @notice Sets the cooldown for new requests; open requests keep their unlock time (owner only).
    /// @dev Reverts with CooldownOutOfRange outside [MIN_COOLDOWN, MAX_COOLDOWN].
    function setCooldown(uint256 newCooldown) external;

    /// @notice Sets the redeem window for new requests: how long after its cooldown a request can
    /// be completed before it lapses; open requests keep their expiry (owner only).
    /// @dev Reverts with RedeemWindowOutOfRange outside [MIN_REDEEM_WINDOW, MAX_REDEEM_WINDOW].
    function setRedeemWindow(uint256 newWindow) external;

    /// @notice The Vault whose insurance account holds the fund's assets.
    function vault() external view returns (IVault);

    /// @notice The cooldown (seconds) between a request and its completion, for new requests.
    function cooldown() external view returns (uint256);

    /// @notice The shortest cooldown the owner can set.
    function MIN_COOLDOWN() external view returns (uint256);

    /// @notice The longest cooldown the owner can set.
    function MAX_COOLDOWN() external view returns (uint256);

    /// @notice The time (seconds) after its cooldown during which a new request can be completed.
    function redeemWindow() external view returns (uint256);

    /// @notice The shortest redeem window the owner can set.
    function MIN_REDEEM_WINDOW() external view returns (uint256);

    /// @notice The longest redeem window the owner can set.
    function MAX_REDEEM_WINDOW() external view returns (uint256);

    /// @notice `owner`'s open request (lapsed or not); all zero when there is none.
    function redeemRequest(address owner) external view returns (RedeemRequest memory);
}
