// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IAmm} from "../interfaces/IAmm.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";
import {IVault} from "../interfaces/IVault.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {SequencerUptime} from "../libraries/SequencerUptime.sol";
import {ClearingHouseModule} from "./ClearingHouseModule.sol";

// Highest trading fee a market may charge: 5% of notional.
uint256 constant MAX_FEE_RATIO = 0.05e18;

/// @dev The kind AdminModule answers in {ClearingHouseModule-moduleInfo}.
bytes32 constant ADMIN_MODULE_KIND = keccak256("vamm.ClearingHouse.AdminModule");

/// @title AdminModule
/// @notice The owner's configuration of the ClearingHouse: the one-time links to the Vault and the
/// insurance fund, listing markets and setting their risk parameters, pausing and resuming, and the
/// L2 sequencer's grace period.
contract AdminModule is ClearingHouseModule {
    /// @param sequencerFeed_ The ClearingHouse's sequencer uptime feed (see {ClearingHouseModule}).
    constructor(AggregatorV3Interface sequencerFeed_) ClearingHouseModule(sequencerFeed_) {}

    function _moduleKind() internal pure override returns (bytes32) {
        return ADMIN_MODULE_KIND;
    }

    /// @notice See {IClearingHouse-setInsuranceFund}.
    function setInsuranceFund(address fund) external onlyDelegated onlyOwner {
        IVault vault_ = _config.vault;
        if (address(vault_) == address(0)) revert IClearingHouse.VaultNotSet();
        vault_.setInsuranceFund(fund);
    }

    /// @notice See {IClearingHouse-setVault}.
    function setVault(IVault vault_) external onlyDelegated onlyOwner {
        if (address(vault_) == address(0)) revert ICommonErrors.ZeroAddress();
        if (address(_config.vault) != address(0)) revert IClearingHouse.VaultAlreadySet(address(_config.vault));
        address boundTo = vault_.clearingHouse();
        if (boundTo != address(this)) revert IClearingHouse.VaultNotBoundToThisClearingHouse(address(vault_), boundTo);
        _config.vault = vault_;
        emit IClearingHouse.VaultSet(address(vault_));
    }

    /// @notice See {IClearingHouse-addMarket}.
    function addMarket(address amm, IClearingHouse.MarketParams calldata params) external onlyDelegated onlyOwner {
        // Without a Vault no trade could settle: list markets only once it is linked.
        if (address(_config.vault) == address(0)) revert IClearingHouse.VaultNotSet();
        if (_markets[amm].listed) revert IClearingHouse.MarketAlreadyListed(amm);
        address boundTo = IAmm(amm).clearingHouse();
        if (boundTo != address(this)) revert IClearingHouse.AmmNotBoundToThisClearingHouse(amm, boundTo);
        _validate(params);
        _markets[amm] = Market(
            true,
            IClearingHouse.MarketStatus.ACTIVE,
            params.initialMarginRatio,
            params.maintenanceMarginRatio,
            params.feeRatio
        );
        emit IClearingHouse.MarketAdded(amm, params);
    }

    /// @notice See {IClearingHouse-setMarketParams}.
    function setMarketParams(
        address amm,
        IClearingHouse.MarketParams calldata params
    ) external onlyDelegated onlyOwner {
        Market storage market = _markets[amm];
        if (!market.listed) revert IClearingHouse.MarketNotListed(amm);
        _validate(params);
        market.initialMarginRatio = params.initialMarginRatio;
        market.maintenanceMarginRatio = params.maintenanceMarginRatio;
        market.feeRatio = params.feeRatio;
        emit IClearingHouse.MarketParamsUpdated(amm, params);
    }

    /// @notice See {IClearingHouse-pause}.
    function pause() external onlyDelegated onlyOwner {
        if (_config.paused) revert IClearingHouse.EnforcedPause();
        _config.paused = true;
        emit IClearingHouse.Paused(msg.sender);
    }

    /// @notice See {IClearingHouse-unpause}.
    function unpause() external onlyDelegated onlyOwner {
        if (!_config.paused) revert IClearingHouse.ExpectedPause();
        _config.paused = false;
        emit IClearingHouse.Unpaused(msg.sender);
    }

    /// @notice See {IClearingHouse-setSequencerGracePeriod}.
    function setSequencerGracePeriod(uint256 gracePeriod) external onlyDelegated onlyOwner {
        SequencerUptime.validateGracePeriod(gracePeriod);
        // At most MAX_GRACE_PERIOD (one day), checked just above: the cast is exact.
        _config.sequencerGracePeriod = uint32(gracePeriod);
        emit IClearingHouse.SequencerGracePeriodSet(gracePeriod);
    }

    function _validate(IClearingHouse.MarketParams calldata params) private pure {
        if (
            params.maintenanceMarginRatio == 0 ||
            params.maintenanceMarginRatio >= params.initialMarginRatio ||
            params.initialMarginRatio > FixedPoint.WAD
        ) revert IClearingHouse.InvalidMarginRatios(params.initialMarginRatio, params.maintenanceMarginRatio);
        if (params.feeRatio > MAX_FEE_RATIO) revert IClearingHouse.FeeRatioTooHigh(params.feeRatio, MAX_FEE_RATIO);
    }
}
