// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {AdminModule} from "../../../contracts/clearinghouse/AdminModule.sol";
import {LiquidationModule} from "../../../contracts/clearinghouse/LiquidationModule.sol";
import {SettlementModule} from "../../../contracts/clearinghouse/SettlementModule.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IPriceFeed} from "../../../contracts/interfaces/IPriceFeed.sol";

/// @dev A ClearingHouse with its three modules, as the Ignition Core module deploys it.
function deployClearingHouse(address owner, IPriceFeed sequencerOracle) returns (ClearingHouse) {
    IClearingHouse.Modules memory modules = IClearingHouse.Modules(
        address(new AdminModule(sequencerOracle)),
        address(new LiquidationModule(sequencerOracle)),
        address(new SettlementModule(sequencerOracle))
    );
    return new ClearingHouse(owner, sequencerOracle, modules);
}
