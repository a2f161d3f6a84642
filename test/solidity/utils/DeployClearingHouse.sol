// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {AdminModule} from "../../../contracts/clearinghouse/AdminModule.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Artifacts} from "./Artifacts.sol";

/// @dev A ClearingHouse with its three modules, as the Ignition Core module deploys it.
function deployClearingHouse(address owner, AggregatorV3Interface sequencerFeed) returns (ClearingHouse) {
    IClearingHouse.Modules memory modules = IClearingHouse.Modules(
        address(new AdminModule(sequencerFeed)),
        address(Artifacts.liquidationModule(sequencerFeed)),
        address(Artifacts.settlementModule(sequencerFeed))
    );
    return new ClearingHouse(owner, sequencerFeed, modules);
}
