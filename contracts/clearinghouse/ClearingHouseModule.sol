// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {ClearingHouseBase} from "./ClearingHouseBase.sol";

/// @title ClearingHouseModule
/// @notice A part of the ClearingHouse deployed as its own contract and run by the ClearingHouse
/// through DELEGATECALL (as the Euler Vault Kit's modules are), so the ClearingHouse's code stays
/// well under the 24,576-byte limit. The ClearingHouse deploys its modules in its constructor and
/// keeps their addresses as immutables.
/// @dev A module called directly would act on its own, empty storage; every entry point refuses
/// that with {NotDelegated}.
abstract contract ClearingHouseModule is ClearingHouseBase {
    address private immutable _self = address(this);

    /// @param sequencerOracle_ The ClearingHouse's sequencer feed: immutables live in code, so a
    /// module keeps its own copy.
    constructor(IPriceFeed sequencerOracle_) ClearingHouseBase(sequencerOracle_) Ownable(msg.sender) {}

    modifier onlyDelegated() {
        if (address(this) == _self) revert ICommonErrors.NotDelegated();
        _;
    }
}
