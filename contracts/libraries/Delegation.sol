// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title Delegation
/// @notice How a contract runs part of its ABI in a module's code on its own storage (the
/// ClearingHouse's modules, the Amm's curve and view modules), written once for both.
/// @dev A view cannot DELEGATECALL, so a delegated view STATICCALLs its own contract with its
/// calldata behind a 4-byte marker ({forwardView}), and the contract's fallback runs what follows
/// the marker in the module ({serveView}), only for a call from itself.
library Delegation {
    /// @dev The marker in front of a delegated view's calldata (no function has this selector).
    bytes4 internal constant VIEW_MARKER = 0xffffffff;

    /// @notice Runs this call's calldata in `module` (DELEGATECALL) and returns or reverts with
    /// what it returned: the caller's function ends here.
    function forward(address module) internal {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) {
                revert(0, returndatasize())
            }
            return(0, returndatasize())
        }
    }

    /// @notice A view served by a module: STATICCALLs this contract with this call's calldata
    /// behind {VIEW_MARKER} and returns or reverts with its answer: the caller's function ends here.
    function forwardView() internal view {
        // solhint-disable-next-line no-inline-assembly
        assembly {
            mstore(0, shl(224, 0xffffffff))
            calldatacopy(4, 0, calldatasize())
            let ok := staticcall(gas(), address(), 0, add(calldatasize(), 4), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) {
                revert(0, returndatasize())
            }
            return(0, returndatasize())
        }
    }

    /// @notice Serves {forwardView}'s call (from this contract only, behind the marker; anything
    /// else reverts with {ICommonErrors-NotDelegated}): runs the calldata after the marker in
    /// `module` and returns or reverts with what it returned.
    function serveView(address module) internal {
        if (msg.sender != address(this) || msg.sig != VIEW_MARKER) revert ICommonErrors.NotDelegated();
        // solhint-disable-next-line no-inline-assembly
        assembly {
            let size := sub(calldatasize(), 4)
            calldatacopy(0, 4, size)
            let ok := delegatecall(gas(), module, 0, size, 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) {
                revert(0, returndatasize())
            }
            return(0, returndatasize())
        }
    }
}
