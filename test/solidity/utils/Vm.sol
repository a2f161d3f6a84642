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
    /// @dev The creation code of a build artifact ("File.sol:Contract"), as the build wrote it.
    function getCode(string calldata artifact) external view returns (bytes memory creationCode);
    /// @dev Starts capturing every emitted log; `getRecordedLogs` returns and clears them.
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    /// @dev Marks the running test as skipped (reported, not failed) when `skipTest` is true.
    function skip(bool skipTest, string calldata reason) external;
    /// @dev Process environment (not reverted with the EVM state): lets a debug run add up counters over
    /// the runs of an invariant campaign (see invariant/SPEC.md, "Statistics").
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    function setEnv(string calldata name, string calldata value) external;
    function toString(uint256 value) external pure returns (string memory);
}

/// @dev Where Hardhat serves the cheatcodes: the usual address.
Vm constant CHEATCODES = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
