// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../interfaces/IClearingHouse.sol";

/// @title LiquidationStorage
/// @notice The liquidation rules, in their own namespaced slot (ERC-7201): the liquidation module
/// owns them; the core writes the defaults once, at construction, and reads them for its views.
library LiquidationStorage {
    /// @dev keccak256(abi.encode(uint256(keccak256("vamm.clearinghouse.liquidation")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant SLOT = 0x79a375e49a25362faf46ee1d80fcfb7f762a125abe3eef0924df45810a13b300;

    /// @custom:storage-location erc7201:vamm.clearinghouse.liquidation
    struct Layout {
        IClearingHouse.LiquidationParams params;
    }

    function layout() internal pure returns (Layout storage layout_) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            layout_.slot := SLOT
        }
    }

    /// @notice The defaults: 1.25% penalty, 2.5% partial buffer, 10% spread, 15-minute TWAP, 10 quote.
    function defaults() internal pure returns (IClearingHouse.LiquidationParams memory) {
        return IClearingHouse.LiquidationParams(0.0125e18, 0.025e18, 0.1e18, 15 minutes, 10e18);
    }

    /// @notice Checks and stores the rules: feeRatio up to 10%, partialBuffer up to 20%,
    /// maxSpreadRatio 1% to 50%, markTwapInterval 1 minute to 1 hour.
    function set(IClearingHouse.LiquidationParams memory params) internal {
        if (
            params.feeRatio > 0.1e18 ||
            params.partialBuffer > 0.2e18 ||
            params.maxSpreadRatio < 0.01e18 ||
            params.maxSpreadRatio > 0.5e18 ||
            params.markTwapInterval < 1 minutes ||
            params.markTwapInterval > 1 hours
        ) revert IClearingHouse.InvalidLiquidationParams();
        layout().params = params;
        emit IClearingHouse.LiquidationParamsUpdated(params);
    }
}
