// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ChainlinkPriceFeed} from "../../../contracts/ChainlinkPriceFeed.sol";
import {AmmCurveModule} from "../../../contracts/amm/AmmCurveModule.sol";
import {LiquidationModule} from "../../../contracts/clearinghouse/LiquidationModule.sol";
import {SettlementModule} from "../../../contracts/clearinghouse/SettlementModule.sol";
import {CHEATCODES} from "./Vm.sol";

/// @notice Deploys the contracts that hardhat.config.ts builds through the IR pipeline
/// (`IR_PIPELINE`) from their build artifacts. A `new` in a test would deploy the copy the test's
/// own compilation embeds, built on the legacy pipeline: the same source, other code. From the
/// artifact, the tests run the code a deployment runs.
library Artifacts {
    /// @dev The artifact's creation code with `args` deployed nothing (its constructor reverted).
    error ArtifactNotDeployed(string artifact);

    function liquidationModule(AggregatorV3Interface sequencerFeed) internal returns (LiquidationModule) {
        return LiquidationModule(_deploy("LiquidationModule.sol:LiquidationModule", abi.encode(sequencerFeed)));
    }

    function settlementModule(AggregatorV3Interface sequencerFeed) internal returns (SettlementModule) {
        return SettlementModule(_deploy("SettlementModule.sol:SettlementModule", abi.encode(sequencerFeed)));
    }

    function curveModule() internal returns (AmmCurveModule) {
        return AmmCurveModule(_deploy("AmmCurveModule.sol:AmmCurveModule", ""));
    }

    function priceFeed(address owner) internal returns (ChainlinkPriceFeed) {
        return ChainlinkPriceFeed(_deploy("ChainlinkPriceFeed.sol:ChainlinkPriceFeed", abi.encode(owner)));
    }

    function _deploy(string memory artifact, bytes memory args) private returns (address deployed) {
        bytes memory code = bytes.concat(CHEATCODES.getCode(artifact), args);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        if (deployed == address(0)) revert ArtifactNotDeployed(artifact);
    }
}
