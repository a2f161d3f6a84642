// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The few cheatcodes our Solidity tests use (Hardhat 3 serves them at the usual address).
interface Vm {
    /// @dev One log captured by `recordLogs`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function assume(bool condition) external;
    function expectRevert(bytes4 selector) external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert() external;
    function label(address account, string calldata name) external;
    /// @dev Starts capturing every emitted log; `getRecordedLogs` returns and clears them.
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    /// @dev Marks the running test as skipped (reported, not failed) when `skipTest` is true.
    function skip(bool skipTest, string calldata reason) external;
}
