// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The target-selection hooks of an invariant test, without forge-std.
/// @dev Hardhat's Solidity test runner (EDR, built on Foundry's fuzzer) calls these view functions on
/// the test contract after `setUp` to decide which contracts and functions the invariant fuzzer calls
/// and from which senders, exactly as for forge-std's StdInvariant (same names, same ABI):
///  - `targetContracts()`: when non-empty, only these contracts are called (and contracts created
///    during a run are not added as targets);
///  - `targetSelectors()`: `(address, bytes4[])[]`, restricts a target to the given functions. The
///    fuzzer picks uniformly among every (contract, function) pair listed, so listing a selector
///    twice makes it twice as likely;
///  - `targetSenders()` / `excludeSenders()`: the `msg.sender` of the fuzzed calls;
///  - `excludeContracts()`: contracts never called.
/// Functions whose names start with `invariant` (or `statefulFuzz`) are invariants; each runs its own
/// campaign of `runs` x `depth` calls and is checked after every call that did not revert.
/// `afterInvariant()`, when defined, runs once at the end of every run.
abstract contract InvariantBase {
    /// @dev Same layout as forge-std's StdInvariant.FuzzSelector (the runner decodes it by ABI).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    address[] private _excludedContracts;
    address[] private _targetedSenders;
    address[] private _excludedSenders;
    FuzzSelector[] private _targetedSelectors;

    // ------------------------------------------------------------------ set-up helpers

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function excludeContract(address target) internal {
        _excludedContracts.push(target);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function excludeSender(address sender) internal {
        _excludedSenders.push(sender);
    }

    /// @dev Restricts `selector.addr` to `selector.selectors` (repeat a selector to weight it).
    function targetSelector(FuzzSelector memory selector) internal {
        FuzzSelector storage s = _targetedSelectors.push();
        s.addr = selector.addr;
        for (uint256 i; i < selector.selectors.length; ++i) s.selectors.push(selector.selectors[i]);
    }

    // ------------------------------------------------------------------ read by the runner

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludedSenders;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
}
