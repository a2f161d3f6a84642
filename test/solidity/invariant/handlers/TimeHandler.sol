// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TestBase} from "../../utils/TestBase.sol";

/// @notice The clock: moves time (and the block number) forward. Each new timestamp is a new block for
/// the Amm's per-block rules (fluctuation limit, TWAP), so this also unblocks the fluctuation limit.
contract TimeHandler is TestBase {
    uint256 public warps;
    uint256 public secondsElapsed;

    /// @notice 1..120 s three times out of four; else 900 s .. 1 h (past the 15-minute mark TWAP
    /// window, so the TWAP catches up with the spot price and losing positions become liquidatable)
    /// or 1 h .. 7 days.
    function warp(uint256 seed) external {
        uint256 mode = seed % 8;
        uint256 dt =
            mode == 0
                ? bound(seed >> 3, 1 hours, 7 days)
                : (mode == 1 ? bound(seed >> 3, 15 minutes, 1 hours) : bound(seed >> 3, 1, 120));
        vm.warp(block.timestamp + dt);
        vm.roll(block.number + dt / 12 + 1);
        warps++;
        secondsElapsed += dt;
    }
}
