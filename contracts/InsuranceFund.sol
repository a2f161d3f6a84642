// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20, IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IInsuranceFund} from "./interfaces/IInsuranceFund.sol";
import {IVault} from "./interfaces/IVault.sol";

/// @title InsuranceFund
/// @notice The staked insurance fund. See {IInsuranceFund}.
/// @dev The assets never rest here: deposits are forwarded to the Vault's insurance account and
/// `totalAssets` reads that account, so everything the ClearingHouse settles into or out of it
/// moves the share price. Tokens sent to this contract directly are not counted and cannot be
/// recovered.
contract InsuranceFund is IInsuranceFund, ERC4626, Ownable2Step {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @inheritdoc IInsuranceFund
    uint256 public constant MIN_COOLDOWN = 1 days;
    /// @inheritdoc IInsuranceFund
    uint256 public constant MAX_COOLDOWN = 30 days;
    /// @inheritdoc IInsuranceFund
    uint256 public constant MIN_REDEEM_WINDOW = 1 days;
    /// @inheritdoc IInsuranceFund
    uint256 public constant MAX_REDEEM_WINDOW = 7 days;

    /// @inheritdoc IInsuranceFund
    IVault public immutable vault;
    /// @inheritdoc IInsuranceFund
    uint256 public cooldown = 7 days;
    /// @inheritdoc IInsuranceFund
    uint256 public redeemWindow = 2 days;

    mapping(address owner => RedeemRequest) private _requests;

    /// @param asset_ The collateral token; must be the Vault's.
    /// @param vault_ The Vault; it must still bind this contract (ClearingHouse.setInsuranceFund)
    /// before anyone can deposit.
    /// @param owner_ May set the cooldown and the redeem window.
    constructor(
        IERC20Metadata asset_,
        IVault vault_,
        address owner_,
        string memory name_,
        string memory symbol_
    ) ERC20(name_, symbol_) ERC4626(asset_) Ownable(owner_) {
        if (address(asset_) == address(0) || address(vault_) == address(0)) revert ZeroAddress();
        address vaultCollateral = vault_.collateralToken();
        if (vaultCollateral != address(asset_)) revert AssetMismatch(address(asset_), vaultCollateral);
        vault = vault_;
    }

    // ---------------------------------------------------------------- exits

    /// @inheritdoc IInsuranceFund
    function requestRedeem(uint256 shares) external returns (uint256 assets, uint256 unlockAt) {
        if (shares == 0) revert ZeroShares();
        RedeemRequest memory open = _requests[msg.sender];
        if (open.shares != 0) {
            // One live request per account: merging would let a staker restart or extend a request
            // at will, and a revert is simpler to reason about than a merged cap.
            if (block.timestamp <= open.expiresAt) revert RedeemRequestOpen(msg.sender, open.shares, open.unlockAt);
            // A lapsed request gives its shares back, so the new one starts a full cooldown.
            delete _requests[msg.sender];
            _transfer(address(this), msg.sender, open.shares);
            emit RedeemCancelled(msg.sender, open.shares);
        }
        assets = previewRedeem(shares);
        unlockAt = block.timestamp + cooldown;
        uint256 expiresAt = unlockAt + redeemWindow;
        // The escrowed shares stay in totalSupply, so they keep bearing losses until completion.
        _transfer(msg.sender, address(this), shares);
        _requests[msg.sender] = RedeemRequest(shares, assets.toUint128(), unlockAt.toUint64(), expiresAt.toUint64());
        emit RedeemRequested(msg.sender, shares, assets, unlockAt, expiresAt);
    }

    /// @inheritdoc IInsuranceFund
    function cancelRedeem() external returns (uint256 shares) {
        shares = _requests[msg.sender].shares;
        if (shares == 0) revert NoRedeemRequest(msg.sender);
        delete _requests[msg.sender];
        _transfer(address(this), msg.sender, shares);
        emit RedeemCancelled(msg.sender, shares);
    }

    /// @inheritdoc IInsuranceFund
    function completeRedeem(address receiver) external returns (uint256 assets) {
        if (receiver == address(0)) revert ZeroReceiver();
        RedeemRequest memory request = _requests[msg.sender];
        if (request.shares == 0) revert NoRedeemRequest(msg.sender);
        if (block.timestamp < request.unlockAt) revert CooldownNotElapsed(request.unlockAt);
        // Past its window a request cannot be held armed against a loss the staker sees coming.
        if (block.timestamp > request.expiresAt) revert RedeemRequestExpired(request.expiresAt);
        // Valued before the burn. The cap means a gain during the cooldown is left to the others,
        // while a loss during it is taken: waiting in the queue is never better than staying.
        uint256 assetsNow = previewRedeem(request.shares);
        assets = assetsNow < request.assetsAtRequest ? assetsNow : request.assetsAtRequest;
        delete _requests[msg.sender];
        _burn(address(this), request.shares);
        // The Vault rejects zero amounts; worthless shares are still burned so the staker can leave.
        if (assets != 0) vault.withdrawInsurance(receiver, assets);
        emit Withdraw(msg.sender, receiver, msg.sender, assets, request.shares);
        emit RedeemCompleted(msg.sender, receiver, request.shares, assets);
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IInsuranceFund
    function setCooldown(uint256 newCooldown) external onlyOwner {
        if (newCooldown < MIN_COOLDOWN || newCooldown > MAX_COOLDOWN) revert CooldownOutOfRange(newCooldown);
        emit CooldownSet(cooldown, newCooldown);
        cooldown = newCooldown;
    }

    /// @inheritdoc IInsuranceFund
    function setRedeemWindow(uint256 newWindow) external onlyOwner {
        if (newWindow < MIN_REDEEM_WINDOW || newWindow > MAX_REDEEM_WINDOW) revert RedeemWindowOutOfRange(newWindow);
        uint256 oldWindow = redeemWindow;
        redeemWindow = newWindow;
        emit RedeemWindowSet(oldWindow, newWindow);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IInsuranceFund
    function redeemRequest(address owner) external view returns (RedeemRequest memory) {
        return _requests[owner];
    }

    /// @notice The Vault's insurance account, in token units rounded down.
    /// @dev Rounding down undervalues shares by under one token unit: in the protocol's favour.
    function totalAssets() public view override(IERC4626, ERC4626) returns (uint256) {
        return vault.insuranceFundBalance();
    }

    /// @notice Zero until the Vault has bound this contract (the Vault would reject the forwarding).
    function maxDeposit(address receiver) public view override(IERC4626, ERC4626) returns (uint256) {
        return _isBound() ? super.maxDeposit(receiver) : 0;
    }

    /// @notice Zero until the Vault has bound this contract (the Vault would reject the forwarding).
    function maxMint(address receiver) public view override(IERC4626, ERC4626) returns (uint256) {
        return _isBound() ? super.maxMint(receiver) : 0;
    }

    /// @notice Always zero: exits go through `requestRedeem` and `completeRedeem`, so the standard
    /// `withdraw` reverts with ERC4626ExceededMaxWithdraw.
    function maxWithdraw(address) public pure override(IERC4626, ERC4626) returns (uint256) {
        return 0;
    }

    /// @notice Always zero: exits go through `requestRedeem` and `completeRedeem`, so the standard
    /// `redeem` reverts with ERC4626ExceededMaxRedeem.
    function maxRedeem(address) public pure override(IERC4626, ERC4626) returns (uint256) {
        return 0;
    }

    // ---------------------------------------------------------------- internals

    /// @dev OpenZeppelin pulls the tokens here and mints; then they go on to the insurance account,
    /// where they count in totalAssets. The price was taken before, so the deposit cannot move it.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (receiver == address(0)) revert ZeroReceiver();
        if (assets == 0) revert ZeroAssets();
        // A deposit that mints nothing would be a gift to the other stakers.
        if (shares == 0) revert ZeroShares();
        super._deposit(caller, receiver, assets, shares);
        IERC20(asset()).forceApprove(address(vault), assets);
        vault.depositInsurance(assets);
    }

    /// @dev Against the first-depositor inflation attack: 10^6 virtual shares make a donation
    /// cost the attacker a million times what it can take from the next depositor.
    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    function _isBound() private view returns (bool) {
        return vault.insuranceFund() == address(this);
    }
}
