// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";
import {AmmStorage} from "./AmmStorage.sol";

/// @title AmmModule
/// @notice What each of the Amm's modules is: stateless code that an {Amm} runs by DELEGATECALL on
/// its own storage ({AmmStorage}), deployed once for every market.
/// @dev Called directly a module would act on its own, empty storage: every entry point refuses
/// that with {ICommonErrors-NotDelegated} ({onlyDelegated}).
abstract contract AmmModule is AmmStorage {
    address private immutable _self = address(this);

    constructor() Ownable(msg.sender) {}

    modifier onlyDelegated() {
        if (address(this) == _self) revert ICommonErrors.NotDelegated();
        _;
    }
}
