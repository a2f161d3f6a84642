// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ProtocolInvariantTest} from "../invariant/Protocol.invariant.t.sol";

/// @notice A replay of a shrunk sequence the Protocol.invariant.t.sol campaign printed: the
/// campaign's fixture (its invariant functions run too, at the default profile) and one helper that
/// sends a recorded handler call and requires it not to revert.
abstract contract ProtocolReplay is ProtocolInvariantTest {
    function _call(address target, bytes memory data) internal {
        (bool ok, ) = target.call(data);
        assertTrue(ok, "a replayed handler call reverted");
    }
}
