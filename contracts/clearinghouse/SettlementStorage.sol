// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../interfaces/IClearingHouse.sol";

/// @title SettlementStorage
/// @notice The settlements of shut-down markets, in their own namespaced slot (ERC-7201): the
/// settlement module owns them; the core only reads them for {IClearingHouse-getSettlement}.
library SettlementStorage {
    /// @dev keccak256(abi.encode(uint256(keccak256("vamm.clearinghouse.settlement")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant SLOT = 0xe1ce14b61bccd40748eb3b79555845d8bf0fe464f7b2fb0305a229d2501cb000;

    /// @custom:storage-location erc7201:vamm.clearinghouse.settlement
    struct Layout {
        mapping(address amm => IClearingHouse.Settlement) settlements;
    }

    /// @notice The settlement record of `amm` (all zero until it is settled).
    function ofMarket(address amm) internal view returns (IClearingHouse.Settlement storage) {
        Layout storage layout_;
        // solhint-disable-next-line no-inline-assembly
        assembly {
            layout_.slot := SLOT
        }
        return layout_.settlements[amm];
    }
}
