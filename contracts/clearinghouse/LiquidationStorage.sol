// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../interfaces/IClearingHouse.sol";

/// @title LiquidationStorage
/// @notice The liquidation rules, in their own namespaced slot (ERC-7201): the liquidation module
/// owns them; the core writes the defaults once, at construction, and reads them for its views.
library LiquidationStorage {
    /// @dev keccak256(abi.encode(uint256(keccak256("vamm.clearinghouse.liquidation")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant SLOT = 0x79a375e49a25362faf46ee1d80fcfb7f762a125abe3eef0924df45810a13b300;

    /// @dev The rules packed in one slot, so a liquidation reads them with one cold load: the
    /// minimum position notional in whole quote units (the setter refuses fractions).
    /// @custom:storage-location erc7201:vamm.clearinghouse.liquidation
    struct Layout {
        uint64 feeRatio;
        uint64 partialBuffer;
        uint64 maxSpreadRatio;
        uint32 markTwapInterval;
        uint32 minPositionNotionalUnits;
    }

    uint256 private constant QUOTE_UNIT = 1e18;

    function layout() internal pure returns (Layout storage layout_) {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            layout_.slot := SLOT
        }
    }

    /// @notice The rules, unpacked.
    function params() internal view returns (IClearingHouse.LiquidationParams memory) {
        Layout storage layout_ = layout();
        return
            IClearingHouse.LiquidationParams(
                layout_.feeRatio,
                layout_.partialBuffer,
                layout_.maxSpreadRatio,
                layout_.markTwapInterval,
                uint256(layout_.minPositionNotionalUnits) * QUOTE_UNIT
            );
    }

    /// @notice The defaults: 1.25% penalty, 2.5% partial buffer, 10% spread, 15-minute TWAP, 10 quote.
    function defaults() internal pure returns (IClearingHouse.LiquidationParams memory) {
        return IClearingHouse.LiquidationParams(0.0125e18, 0.025e18, 0.1e18, 15 minutes, 10e18);
    }

    /// @notice Checks and stores the rules: feeRatio up to 10%, partialBuffer up to 20%,
    /// maxSpreadRatio 1% to 50%, markTwapInterval 1 minute to 1 hour, minPositionNotional a whole
    /// number of quote units below 2^32.
    function set(IClearingHouse.LiquidationParams memory rules) internal {
        if (
            rules.feeRatio > 0.1e18 ||
            rules.partialBuffer > 0.2e18 ||
            rules.maxSpreadRatio < 0.01e18 ||
            rules.maxSpreadRatio > 0.5e18 ||
            rules.markTwapInterval < 1 minutes ||
            rules.markTwapInterval > 1 hours ||
            rules.minPositionNotional % QUOTE_UNIT != 0 ||
            rules.minPositionNotional / QUOTE_UNIT > type(uint32).max
        ) revert IClearingHouse.InvalidLiquidationParams();
        Layout storage layout_ = layout();
        layout_.feeRatio = rules.feeRatio;
        layout_.partialBuffer = rules.partialBuffer;
        layout_.maxSpreadRatio = rules.maxSpreadRatio;
        layout_.markTwapInterval = rules.markTwapInterval;
        layout_.minPositionNotionalUnits = uint32(rules.minPositionNotional / QUOTE_UNIT);
        emit IClearingHouse.LiquidationParamsUpdated(rules);
    }
}
