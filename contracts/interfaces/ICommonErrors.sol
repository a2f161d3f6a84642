// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICommonErrors
/// @notice Errors several of the protocol's contracts raise, declared once so an interface that
/// gathers the errors of several contracts (as {IClearingHouse} does for everything a call to it
/// can raise) declares each exactly once.
interface ICommonErrors {
    /// @notice A zero address where one is needed.
    error ZeroAddress();
    /// @notice A zero amount where a positive one is needed.
    error ZeroAmount();
    /// @notice Caller is not the ClearingHouse.
    error OnlyClearingHouse(address caller);
    /// @notice A module's entry point was called directly instead of by DELEGATECALL from the
    /// contract that deployed it.
    error NotDelegated();
}
