// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IVault} from "./interfaces/IVault.sol";

/// @title Vault
/// @notice Holds the collateral token and the ledger of who owns it. See {IVault}.
contract Vault is IVault, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    // ---------------------------------------------------------------- immutables

    /// @inheritdoc IVault
    address public immutable clearingHouse;
    IERC20 private immutable _token;
    /// @dev 10^(18 - token decimals): token units x scale = 18-decimal units, exactly.
    uint256 private immutable _scale;

    // ---------------------------------------------------------------- storage

    /// @dev The protocol's shared accounts, packed so a trade touches one slot for both.
    struct PoolBalances {
        uint128 marginPool;
        uint128 insuranceFund;
    }

    PoolBalances private _pools;
    mapping(address trader => uint256) private _freeCollateral;
    /// @inheritdoc IVault
    address public insuranceFund;

    // ---------------------------------------------------------------- constructor

    /// @param token The collateral token, with 6 to 18 decimals.
    /// @param clearingHouse_ The only account allowed to move value between ledger accounts. An
    /// immutable, so the check on every trade reads no storage.
    constructor(IERC20Metadata token, address clearingHouse_) {
        if (address(token) == address(0) || clearingHouse_ == address(0)) revert ZeroAddress();
        clearingHouse = clearingHouse_;
        uint8 decimals = token.decimals();
        if (decimals < 6 || decimals > 18) revert UnsupportedDecimals(decimals);
        _token = IERC20(address(token));
        _scale = 10 ** (18 - decimals);
    }

    modifier onlyClearingHouse() {
        if (msg.sender != clearingHouse) revert OnlyClearingHouse(msg.sender);
        _;
    }

    modifier onlyInsuranceFund() {
        if (msg.sender != insuranceFund || msg.sender == address(0)) revert OnlyInsuranceFund(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- traders

    /// @inheritdoc IVault
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IVault
    function depositFor(address trader, uint256 amount) external nonReentrant {
        if (trader == address(0)) revert ZeroAddress();
        _deposit(trader, amount);
    }

    /// @inheritdoc IVault
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 internalAmount = amount * _scale;
        uint256 available = _freeCollateral[msg.sender];
        if (internalAmount > available) revert InsufficientFreeCollateral(msg.sender, available, internalAmount);
        unchecked {
            // Cannot underflow: checked just above.
            _freeCollateral[msg.sender] = available - internalAmount;
        }
        _token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    function _deposit(address trader, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 balanceBefore = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - balanceBefore;
        // A token that takes a fee or rebases would leave the ledger claiming more than is held.
        if (received != amount) revert UnsupportedTransferAmount(amount, received);
        _freeCollateral[trader] += amount * _scale;
        emit Deposited(msg.sender, trader, amount);
    }

    // ---------------------------------------------------------------- clearing house

    /// @inheritdoc IVault
    function settle(address trader, int256 freeCollateralDelta, int256 insuranceFundDelta) external onlyClearingHouse {
        PoolBalances memory pools = _pools;
        uint256 marginPool = pools.marginPool;
        uint256 fund = pools.insuranceFund;
        if (freeCollateralDelta < 0) {
            uint256 amount = uint256(-freeCollateralDelta);
            uint256 available = _freeCollateral[trader];
            if (amount > available) revert InsufficientFreeCollateral(trader, available, amount);
            unchecked {
                // Cannot underflow: checked just above.
                _freeCollateral[trader] = available - amount;
            }
            marginPool += amount;
        }
        // The fund pays into the margin pool before the pool pays out, so a payout it backs succeeds.
        if (insuranceFundDelta < 0) {
            uint256 amount = uint256(-insuranceFundDelta);
            if (amount > fund) revert InsufficientInsuranceFund(fund, amount);
            unchecked {
                fund -= amount;
            }
            marginPool += amount;
        } else if (insuranceFundDelta > 0) {
            uint256 amount = uint256(insuranceFundDelta);
            if (amount > marginPool) revert InsufficientMarginPool(marginPool, amount);
            unchecked {
                marginPool -= amount;
            }
            fund += amount;
        }
        if (freeCollateralDelta > 0) {
            uint256 amount = uint256(freeCollateralDelta);
            if (amount > marginPool) revert InsufficientMarginPool(marginPool, amount);
            unchecked {
                marginPool -= amount;
            }
            _freeCollateral[trader] += amount;
        }
        _pools = PoolBalances(marginPool.toUint128(), fund.toUint128());
    }

    // ---------------------------------------------------------------- insurance fund

    /// @inheritdoc IVault
    function setInsuranceFund(address fund) external onlyClearingHouse {
        if (fund == address(0)) revert ZeroAddress();
        if (insuranceFund != address(0)) revert InsuranceFundAlreadySet(insuranceFund);
        insuranceFund = fund;
        emit InsuranceFundSet(fund);
    }

    /// @inheritdoc IVault
    function depositInsurance(uint256 amount) external nonReentrant onlyInsuranceFund {
        if (amount == 0) revert ZeroAmount();
        uint256 balanceBefore = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - balanceBefore;
        if (received != amount) revert UnsupportedTransferAmount(amount, received);
        PoolBalances memory pools = _pools;
        _pools = PoolBalances(pools.marginPool, (pools.insuranceFund + amount * _scale).toUint128());
        emit InsuranceDeposited(amount);
    }

    /// @inheritdoc IVault
    function withdrawInsurance(address to, uint256 amount) external nonReentrant onlyInsuranceFund {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        PoolBalances memory pools = _pools;
        uint256 internalAmount = amount * _scale;
        if (internalAmount > pools.insuranceFund) revert InsufficientInsuranceFund(pools.insuranceFund, internalAmount);
        unchecked {
            // Cannot underflow: checked just above.
            _pools = PoolBalances(pools.marginPool, uint128(pools.insuranceFund - internalAmount));
        }
        _token.safeTransfer(to, amount);
        emit InsuranceWithdrawn(to, amount);
    }

    /// @inheritdoc IVault
    function insuranceFundBalance() external view returns (uint256) {
        return _pools.insuranceFund / _scale;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IVault
    function balanceOf(address trader) external view returns (uint256) {
        return _freeCollateral[trader] / _scale;
    }

    /// @inheritdoc IVault
    function freeCollateral(address trader) external view returns (uint256) {
        return _freeCollateral[trader];
    }

    /// @inheritdoc IVault
    function getPoolBalances() external view returns (uint256 marginPool, uint256 insuranceAccount) {
        PoolBalances memory pools = _pools;
        return (pools.marginPool, pools.insuranceFund);
    }

    /// @inheritdoc IVault
    function collateralToken() external view returns (address) {
        return address(_token);
    }
}
