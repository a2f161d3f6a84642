// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ClearingHouseBase} from "./ClearingHouseBase.sol";

/// @title ClearingHouseModule
/// @notice A part of the ClearingHouse deployed as its own contract and run by the ClearingHouse
/// through DELEGATECALL (as the Euler Vault Kit's modules are), so the ClearingHouse's code stays
/// well under the 24,576-byte limit. The modules are deployed first; the ClearingHouse's constructor
/// checks each one ({moduleInfo}) and keeps their addresses as immutables.
/// @dev A module called directly would act on its own, empty storage; every entry point refuses
/// that with {NotDelegated}.
abstract contract ClearingHouseModule is ClearingHouseBase {
    address private immutable _self = address(this);

    /// @param sequencerFeed_ The ClearingHouse's sequencer uptime feed: immutables live in code, so
    /// a module keeps its own copy.
    constructor(AggregatorV3Interface sequencerFeed_) ClearingHouseBase(sequencerFeed_) Ownable(msg.sender) {}

    /// @notice What this module is and the sequencer feed it was built with, for the
    /// ClearingHouse's constructor to check.
    /// @return kind The module's kind (a constant per module).
    /// @return sequencerFeed The sequencer uptime feed this module checks (its own immutable copy).
    function moduleInfo() external view returns (bytes32 kind, AggregatorV3Interface sequencerFeed) {
        return (_moduleKind(), _sequencerFeed);
    }

    /// @dev The module's kind.
    function _moduleKind() internal pure virtual returns (bytes32);

    modifier onlyDelegated() {
        if (address(this) == _self) revert ICommonErrors.NotDelegated();
        _;
    }
}
