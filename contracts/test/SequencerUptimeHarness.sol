// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ISequencerErrors, SequencerUptime} from "../libraries/SequencerUptime.sol";

/// @dev Test-only: runs {SequencerUptime} on a feed and grace period the test sets, as the
/// ClearingHouse runs it on its own.
contract SequencerUptimeHarness is ISequencerErrors {
    AggregatorV3Interface public feed;
    uint256 public gracePeriod = SequencerUptime.DEFAULT_GRACE_PERIOD;

    function setFeed(AggregatorV3Interface feed_) external {
        feed = feed_;
    }

    function setGracePeriod(uint256 gracePeriod_) external {
        SequencerUptime.validateGracePeriod(gracePeriod_);
        gracePeriod = gracePeriod_;
    }

    function check() external view {
        SequencerUptime.check(feed, gracePeriod, block.timestamp);
    }

    function isUp() external view returns (bool) {
        (SequencerUptime.Status status, , ) = SequencerUptime.status(feed, gracePeriod, block.timestamp);
        return status == SequencerUptime.Status.UP;
    }

    function bounds() external pure returns (uint256 defaultGrace, uint256 minGrace, uint256 maxGrace) {
        return (
            SequencerUptime.DEFAULT_GRACE_PERIOD,
            SequencerUptime.MIN_GRACE_PERIOD,
            SequencerUptime.MAX_GRACE_PERIOD
        );
    }
}
